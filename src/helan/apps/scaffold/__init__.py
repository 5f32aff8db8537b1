"""``helan app new NAME``: a working third-party app to start from.

The package it writes is an ordinary Python distribution: a ``helan.apps`` entry point named
after the app, hooks (manifest, a route, a console page, a scheduled job, a scope family), the
page's JS module as package data, a README and tests that load the app through the same
:class:`~helan.apps.manager.AppManager` and SDK the platform uses. ``pip install ./NAME`` makes
the platform load it at its next start; ``pytest`` in the folder runs its tests.
"""

from __future__ import annotations

from pathlib import Path

from helan.apps.descriptors import APP_ID
from helan.apps.scaffold.templates import FILES
from helan.core.errors import Conflict, ValidationFailed


def create(name: str, parent: Path) -> Path:
    """Write the app ``name`` (an app id: lower-case letters, digits, ``_``) under
    ``parent / name``; refuses an invalid name or a folder that exists."""
    if not APP_ID.match(name):
        raise ValidationFailed(f"app name {name!r}: lower-case letters, digits, _ (max 64)")
    root = parent / name
    if root.exists():
        raise Conflict(f"{root} exists; choose another name or folder")
    package = f"helan_app_{name}"
    values = {"name": name, "package": package, "title": name.replace("_", " ").title()}
    for relative, text in FILES.items():
        path = root / relative.format(**values)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            text.replace("{{name}}", name)
            .replace("{{package}}", package)
            .replace("{{title}}", values["title"]),
            encoding="utf-8",
        )
    return root
