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
            insert(_TABLE)
            .on_conflict_do_nothing(index_elements=_KEY)
            .returning(*(_TABLE.c[k] for k in _KEY))
        )

    def write(self, rows: Sequence[EventRow]) -> list[EventRow]:
        """Store ``rows`` in one transaction, durable on return; already stored events (same
        tenant, device, event and ts) are skipped. Returns the rows that were new (the first of
        equal keys), in the order given."""
        if not rows:
            return []
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
                inserted = conn.execute(self._insert, params).all()
                conn.commit()
            else:
                inserted = _write_synchronous(conn, self._insert, params)
        new = {tuple(r) for r in inserted}
        out: list[EventRow] = []
        for r in rows:
            key = (r.tenant, r.device, r.event, r.ts)
            if key in new:
                new.discard(key)
                out.append(r)
        return out

    def since(
        self, tenant: str, start_ms: int, end_ms: int, limit: int = 100_000
    ) -> list[EventRow]:
        """The tenant's events with ``start_ms <= ts < end_ms`` in device then time order (the
        rule engine replays them after a restart)."""
        t = _TABLE.c
        stmt = (
            sa.select(t.device_id, t.ts, t.event, t.level, t.data)
            .where(t.tenant_id == tenant, t.ts >= start_ms, t.ts < end_ms)
            .order_by(t.device_id, t.ts, t.id)
            .limit(limit)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [EventRow(tenant, r.device_id, r.ts, r.event, r.level, r.data) for r in rows]

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


def _write_synchronous(
    conn: Connection, stmt: Any, params: list[dict[str, Any]]
) -> Sequence[sa.Row[Any]]:
    """Insert with ``synchronous=FULL`` (the commit waits for the WAL's fsync), then put the
    pooled connection back to the store's NORMAL. SQLite applies the pragma only outside a
    transaction: pysqlite opens one just before the INSERT."""
    conn.exec_driver_sql("PRAGMA synchronous=FULL")
    try:
        new = conn.execute(stmt, params).all()
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
