"""``helan audit``: verify the tamper-evident audit trail (in the database or an export file),
sign a checkpoint, export for an auditor, apply retention. ``verify`` exits 1 when anything
was changed, deleted, inserted or moved, naming each record."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from helan.config import Settings, load_settings
from helan.security import audit_chain
from helan.security.crypto import sm2
from helan.storage.meta.store import MetaStore

app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="TOML settings file.")]


@contextmanager
def _open(config: Path | None) -> Iterator[tuple[MetaStore, Settings]]:
    settings = load_settings(config)
    meta = MetaStore(settings.metadata_url)
    try:
        meta.migrate()
        yield meta, settings
    finally:
        meta.close()


def _show(report: audit_chain.Report, key: bytes) -> None:
    fingerprint = sm2.sm3(key).hex()[:32]
    console.print(
        f"{report.records} records (seq {report.first_seq}..{report.last_seq}), "
        f"{report.checkpoints} checkpoints, key SM3 {fingerprint}"
    )
    for p in report.problems:
        err.print(f"[red]{p.kind}[/]: {p.message}", soft_wrap=True)
    if not report.ok:
        err.print(f"[red]audit trail NOT intact: {len(report.problems)} problems[/]")
        raise typer.Exit(1)
    console.print("[green]audit trail intact[/]")


@app.command()
def verify(
    file: Annotated[Path | None, typer.Option(help="Check an export offline instead.")] = None,
    public_key: Annotated[
        str | None, typer.Option(help="Expected SM2 public key (hex); with --file.")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Walk the chain and check every record and signed checkpoint."""
    if file is not None:
        try:
            pinned = bytes.fromhex(public_key) if public_key else None
            report, key = audit_chain.verify_file(file, pinned)
        except (OSError, ValueError) as exc:
            err.print(f"[red]invalid: {exc}[/]", soft_wrap=True)
            raise typer.Exit(2) from None
        _show(report, key)
        return
    with _open(config) as (meta, settings):
        key = audit_chain.signing_key(settings).public_key()
        report = audit_chain.verify(meta, key)
    _show(report, key)


@app.command()
def checkpoint(config: ConfigOpt = None) -> None:
    """Sign the chain's current head now."""
    with _open(config) as (meta, settings):
        seq = audit_chain.checkpoint(meta, audit_chain.signing_key(settings))
    console.print("empty trail" if seq is None else f"checkpoint at seq {seq}")


@app.command()
def export(
    out: Annotated[Path, typer.Argument(help="JSON-lines file to write.")],
    config: ConfigOpt = None,
) -> None:
    """Records, checkpoints and the public key, for `helan audit verify --file` elsewhere."""
    with _open(config) as (meta, settings), out.open("wb") as fh:
        key = audit_chain.signing_key(settings)
        audit_chain.checkpoint(meta, key)
        n = audit_chain.export(meta, key.public_key(), fh)
    console.print(f"{n} records written to {out}; public key {key.public_key().hex()}")


@app.command()
def prune(config: ConfigOpt = None) -> None:
    """Apply retention now (audit_retention_days, at least 180)."""
    with _open(config) as (meta, settings):
        cutoff = datetime.now(UTC) - timedelta(days=settings.audit_retention_days)
        gone = audit_chain.prune(meta, audit_chain.signing_key(settings), cutoff)
    console.print(f"{gone} records older than {settings.audit_retention_days} days removed")
