"""Device events in the metadata database, on both engines: idempotent writes (QoS 1
redelivers), exact round trip of the data, chunked retention, migration 0007 both ways."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from helan.core.events import EventRow
from helan.storage.meta import MetaStore
from helan.storage.meta import events as events_module
from helan.storage.meta.events import EventStore
from helan.storage.meta.models import DeviceEvent
from helan.storage.meta.store import MIGRATIONS

T0 = 1_790_000_000_000


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def meta(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MetaStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'meta.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_url")
    store = MetaStore(url)
    store.migrate()
    yield store
    store.close()


def row(ts: int, event: str = "jam", tenant: str = "acme", **data: object) -> EventRow:
    return EventRow(tenant, "press-1", ts, event, "fault", dict(data))


def stored(meta: MetaStore) -> list[tuple[str, int, str, str, dict[str, object]]]:
    with meta.session() as s:
        rows = s.scalars(
            sa.select(DeviceEvent).order_by(
                DeviceEvent.tenant_id, DeviceEvent.ts, DeviceEvent.event
            )
        )
        return [(r.tenant_id, r.ts, r.event, r.level, r.data) for r in rows]


def test_redelivered_events_are_stored_once(meta: MetaStore) -> None:
    events = EventStore(meta)
    first = [row(T0, station=3), row(T0, "door_open"), row(T0 + 1, station=4)]
    assert events.write(first) == first
    # The same message again (a QoS 1 redelivery) plus one new event, and a repeat inside
    # one batch: only the new one is stored.
    assert events.write([*first, row(T0 + 2, station=5), row(T0 + 2, station=5)]) == [
        row(T0 + 2, station=5)
    ]
    assert events.write([]) == []
    assert [(ts, e, d) for _, ts, e, _, d in stored(meta)] == [
        (T0, "door_open", {}),
        (T0, "jam", {"station": 3}),
        (T0 + 1, "jam", {"station": 4}),
        (T0 + 2, "jam", {"station": 5}),
    ]


def test_data_round_trips_exactly(meta: MetaStore) -> None:
    data = {"i": 2**62, "f": 0.1, "b": False, "s": '压力过高 \u0000 "quoted" ✓', "neg": -1.5e-300}
    EventStore(meta).write([row(T0, **data)])
    with meta.session() as s:
        got = s.scalars(sa.select(DeviceEvent)).one()
    assert got.data == data
    assert got.level == "fault"
    assert got.received_at.tzinfo is not None
    assert got.id > 0


def test_retention_deletes_in_chunks_and_only_the_tenants_old_events(
    meta: MetaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events_module, "DELETE_CHUNK", 3)
    events = EventStore(meta)
    events.write([row(T0 + i, tenant=t) for i in range(10) for t in ("acme", "bolt")])
    assert events.delete_before("acme", T0 + 7) == 7
    assert events.delete_before("acme", T0 + 7) == 0
    left = stored(meta)
    assert [ts - T0 for t, ts, *_ in left if t == "acme"] == [7, 8, 9]
    assert len([t for t, *_ in left if t == "bolt"]) == 10


def test_sqlite_commits_with_full_sync_and_restores_normal(tmp_path: Path) -> None:
    """The pooled connection goes back as the store runs it (NORMAL), after a write and after
    a failed one; the write itself ran under FULL."""
    meta = MetaStore(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    meta.migrate()
    seen: list[str] = []

    @sa.event.listens_for(meta.engine, "before_cursor_execute")
    def _trace(conn, cursor, statement, *_):  # type: ignore[no-untyped-def]
        seen.append(statement.split(" (")[0])

    events = EventStore(meta)
    events.write([row(T0)])
    with pytest.raises(sa.exc.StatementError):
        events.write([EventRow("acme", "press-1", T0, "jam", "fault", {"x": object()})])
    with meta.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    writes = [s for s in seen if s.startswith(("PRAGMA synchronous=", "INSERT"))]
    assert writes[:3] == [
        "PRAGMA synchronous=FULL",
        "INSERT INTO device_events",
        "PRAGMA synchronous=NORMAL",
    ]
    assert writes[-1] == "PRAGMA synchronous=NORMAL"
    assert len(stored(meta)) == 1
    meta.close()


def test_migration_0007_down_and_up(meta: MetaStore) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS.as_posix())
    EventStore(meta).write([row(T0)])
    with meta.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006")
        assert "device_events" not in sa.inspect(conn).get_table_names()
        assert "broker_hash" in {c["name"] for c in sa.inspect(conn).get_columns("devices")}
    meta.migrate()
    with meta.engine.connect() as conn:
        inspector = sa.inspect(conn)
        indexes = {i["name"]: i["column_names"] for i in inspector.get_indexes("device_events")}
        uniques = [u["column_names"] for u in inspector.get_unique_constraints("device_events")]
    assert indexes["ix_device_events_tenant_device_ts"] == ["tenant_id", "device_id", "ts"]
    assert ["tenant_id", "device_id", "event", "ts"] in uniques
    assert len(EventStore(meta).write([row(T0)])) == 1


def test_since_reads_a_tenants_range_in_device_then_time_order(meta: MetaStore) -> None:
    events = EventStore(meta)
    events.write([row(T0 + 2), row(T0), row(T0 + 1, tenant="other"), row(T0 + 9)])
    events.write([EventRow("acme", "oven-1", T0 + 1, "door", "info", {"open": True})])
    got = events.since("acme", T0, T0 + 9)
    assert [(r.device, r.ts, r.event) for r in got] == [
        ("oven-1", T0 + 1, "door"),
        ("press-1", T0, "jam"),
        ("press-1", T0 + 2, "jam"),
    ]
    assert got[0].data == {"open": True}
    assert len(events.since("acme", T0, T0 + 10, limit=1)) == 1
