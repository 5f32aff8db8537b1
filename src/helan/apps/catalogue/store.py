"""The catalogue's own tables, kept in an apps-framework alembic chain (``catalogue``, version
table ``alembic_version_app_catalogue``) like an app's: the platform's chain has no slot for
them, and ``app_installs`` (platform migration 0009) stays the one record of who installed
what. Config is one JSON document per (tenant, app) with a version; usage is calls per (app,
tenant, UTC day), added from in-memory counters."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from helan.apps.migrations import upgrade_app
from helan.storage.meta import MetaStore

VERSIONS = Path(__file__).parent / "versions"
CHAIN = "catalogue"

_md = sa.MetaData()
CONFIGS = sa.Table(
    "app_catalogue_configs",
    _md,
    sa.Column("tenant_id", sa.String(32), primary_key=True),
    sa.Column("app_id", sa.String(64), primary_key=True),
    sa.Column("config", sa.JSON(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
USAGE = sa.Table(
    "app_catalogue_usage",
    _md,
    sa.Column("app_id", sa.String(64), primary_key=True),
    sa.Column("tenant_id", sa.String(32), primary_key=True),
    sa.Column("day", sa.Date(), primary_key=True),
    sa.Column("calls", sa.BigInteger(), nullable=False),
)

_ready: set[tuple[int, str]] = set()
_lock = threading.Lock()


def ensure_schema(meta: MetaStore) -> None:
    """Apply the catalogue's chain once per store (blocking; idempotent). Keyed by the store
    and its database, so a new store that reuses a freed store's id is still migrated."""
    key = (id(meta), str(meta.engine.url))
    with _lock:
        if key in _ready:
            return
        upgrade_app(meta, CHAIN, VERSIONS)
        _ready.add(key)


def read_config(meta: MetaStore, tenant: str, app_id: str) -> tuple[dict[str, Any], int]:
    ensure_schema(meta)
    with meta.session() as s:
        row = s.execute(
            sa.select(CONFIGS.c.config, CONFIGS.c.version).where(
                CONFIGS.c.tenant_id == tenant, CONFIGS.c.app_id == app_id
            )
        ).first()
    return (dict(row[0]), int(row[1])) if row else ({}, 0)


class CallCounter:
    """Calls of each app's routes per tenant, counted in memory and added to the table by
    :meth:`flush` (the apps component's job), so a request never waits on a write."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str, date]] = Counter()
        self._lock = threading.Lock()

    def add(self, app_id: str, tenant: str) -> None:
        with self._lock:
            self._counts[(app_id, tenant, datetime.now(UTC).date())] += 1

    def pending(self) -> int:
        return sum(self._counts.values())

    def flush(self, meta: MetaStore) -> int:
        with self._lock:
            taken, self._counts = self._counts, Counter()
        if not taken:
            return 0
        ensure_schema(meta)
        with meta.session() as s:
            for (app_id, tenant, day), n in taken.items():
                where = (
                    (USAGE.c.app_id == app_id)
                    & (USAGE.c.tenant_id == tenant)
                    & (USAGE.c.day == day)
                )
                done = s.execute(sa.update(USAGE).where(where).values(calls=USAGE.c.calls + n))
                if getattr(done, "rowcount", 0) == 0:
                    s.execute(
                        sa.insert(USAGE).values(app_id=app_id, tenant_id=tenant, day=day, calls=n)
                    )
        return sum(taken.values())
