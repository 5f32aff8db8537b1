"""Keys kept apart from the database: a configured value, else a file in the data dir made once
(mode 0600, created exclusively so concurrent first starts agree on one key)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def kept_key(configured: str, path: Path, make: Callable[[], str]) -> str:
    """``configured`` when set, else the content of ``path``, written with ``make()`` first if
    the file does not exist yet."""
    if configured:
        return configured.strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(make() + "\n")
    return path.read_text().strip()
