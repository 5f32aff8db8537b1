"""Telemetry storage: one protocol (:mod:`.base`), two backends chosen by ``telemetry_url``."""

from __future__ import annotations

from helan.config import Settings
from helan.core.errors import ValidationFailed
from helan.storage.telemetry.base import TelemetryStore


def open_store(settings: Settings) -> TelemetryStore:
    """``"duckdb"`` opens the embedded file ``settings.telemetry_path``; a ``postgresql://``
    URL opens the PostgreSQL backend (TimescaleDB when the extension is available)."""
    url = settings.telemetry_url
    if url == "duckdb":
        from helan.storage.telemetry.duckdb.store import DuckDBStore

        return DuckDBStore(settings.telemetry_path)
    if url.startswith(("postgresql://", "postgres://")):
        from helan.storage.telemetry.postgres.store import PostgresStore

        return PostgresStore(url)
    raise ValidationFailed(f"telemetry_url must be 'duckdb' or a postgresql:// URL, not {url!r}")
