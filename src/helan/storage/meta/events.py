"""Device events in the metadata database (table ``device_events``).

Events are few next to telemetry points (a door opened, a fault raised) but each one matters,
so they live in the transactional metadata store. Writes go straight to the engine rather than
through :meth:`MetaStore.session`: no change listener cares about events, and an ingest batch
should not wake them. On SQLite a batch is committed with ``synchronous=FULL`` (the store's
connections run with NORMAL, which a power cut may roll back): the MQTT ingest acknowledges
the messages as soon as this returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from helan.core.events import EventRow
from helan.storage.meta.models import DeviceEvent
from helan.storage.meta.store import MetaStore

# Rows removed per statement by retention: short transactions keep the SQLite writer lock
# free for the ingest and the API in between.
DELETE_CHUNK = 5000
_KEY = ["tenant_id", "device_id", "event", "ts"]
_TABLE = cast(sa.Table, DeviceEvent.__table__)


class EventStore:
    """The :class:`helan.core.events.EventSink` of the platform."""

    def __init__(self, meta: MetaStore) -> None:
        self._engine = meta.engine
        self._sqlite = meta.dialect == "sqlite"
        insert = sqlite.insert if self._sqlite else postgresql.insert
        self._insert = (
            insert(_TABLE).on_conflict_do_nothing(index_elements=_KEY).returning(_TABLE.c.id)
        )

    def write(self, rows: Sequence[EventRow]) -> int:
        """Store ``rows`` in one transaction, durable on return; already stored events (same
        tenant, device, event and ts) are skipped. Returns how many were new."""
        if not rows:
            return 0
        now = datetime.now(UTC)
        params: list[dict[str, Any]] = [
            {
                "tenant_id": r.tenant,
                "device_id": r.device,
                "ts": r.ts,
                "event": r.event,
                "level": r.level,
                "data": r.data,
                "received_at": now,
            }
            for r in rows
        ]
        with self._engine.connect() as conn:
            if not self._sqlite:
                new = len(conn.execute(self._insert, params).all())
                conn.commit()
                return new
            return _write_synchronous(conn, self._insert, params)

    def delete_before(self, tenant: str, cutoff_ms: int) -> int:
        """Remove the tenant's events older than ``cutoff_ms``, a chunk per transaction."""
        table = _TABLE
        chunk = (
            sa.select(table.c.id)
            .where(table.c.tenant_id == tenant, table.c.ts < cutoff_ms)
            .limit(DELETE_CHUNK)
            .scalar_subquery()
        )
        stmt = sa.delete(table).where(table.c.id.in_(chunk))
        removed = 0
        while True:
            with self._engine.begin() as conn:
                n = conn.execute(stmt).rowcount
            removed += n
            if n < DELETE_CHUNK:
                return removed


def _write_synchronous(conn: Connection, stmt: Any, params: list[dict[str, Any]]) -> int:
    """Insert with ``synchronous=FULL`` (the commit waits for the WAL's fsync), then put the
    pooled connection back to the store's NORMAL. SQLite applies the pragma only outside a
    transaction: pysqlite opens one just before the INSERT."""
    conn.exec_driver_sql("PRAGMA synchronous=FULL")
    try:
        new = len(conn.execute(stmt, params).all())
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        try:
            conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
            conn.commit()
        except sa.exc.SQLAlchemyError:
            conn.invalidate()  # never hand a connection in an unknown state back to the pool
    return new
