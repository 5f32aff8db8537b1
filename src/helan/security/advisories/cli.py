"""``helan security import PATH``: CSAF documents from a file or a folder (``*.json`` in it,
recursively), or a KEV catalog with ``--kev``; one line per file, then a JSON summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from helan.config import load_settings
from helan.core.errors import HelanError
from helan.security.advisories import store
from helan.security.principal import Principal, Role
from helan.storage.meta.store import MetaStore

CLI = Principal(kind="user", subject="cli", tenant=None, role=Role.SECURITY_OFFICER)


def import_advisories(
    path: Annotated[Path, typer.Argument(help="A CSAF file or a folder of them.")],
    kev: Annotated[bool, typer.Option(help="PATH is CISA's KEV catalog (JSON).")] = False,
    config: Annotated[Path | None, typer.Option(help="TOML settings file.")] = None,
) -> None:
    """Import CSAF 2.0 advisories (or the KEV catalog) into the platform's store."""
    settings = load_settings(config)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    meta = MetaStore(settings.metadata_url)
    meta.migrate()
    files = sorted(path.rglob("*.json")) if path.is_dir() else [path]
    counts = {"new": 0, "unchanged": 0, "older": 0, "refused": 0}
    try:
        if kev:
            n = store.import_kev(meta, CLI, path.read_bytes())
            typer.echo(json.dumps({"kev": n}))
            return
        for f in files:
            try:
                got = store.import_advisory(meta, CLI, f.read_bytes(), source=str(f))
            except HelanError as exc:
                counts["refused"] += 1
                typer.echo(f"{f}: refused: {exc.code}: {exc.message}", err=True)
                continue
            counts[got.outcome] += 1
            typer.echo(f"{f}: {got.tracking_id} version {got.version}: {got.outcome}")
    finally:
        meta.close()
    typer.echo(json.dumps(counts))
    if counts["refused"]:
        raise typer.Exit(1)
