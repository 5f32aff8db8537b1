"""Each tenant's retention applies to its own data only, on both telemetry backends, and to its
device events; the scheduler runs it at start and hourly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from tests.conftest import eventually

from helan.config import Settings
from helan.core.events import EventRow
from helan.core.points import batch_from_columns
from helan.jobs import Interval, Scheduler
from helan.storage.meta import MetaStore
from helan.storage.meta.events import EventStore
from helan.storage.meta.models import DeviceEvent, Tenant
from helan.storage.retention import DAY_MS, RETENTION_JOB, apply_retention, retention_job
from helan.storage.telemetry import open_store
from helan.storage.telemetry.base import RawQuery, TelemetryStore

NOW = 1_790_000_000_000


@pytest.fixture(params=["duckdb", "postgres"])
def store(request: pytest.FixtureRequest, settings: Settings) -> Iterator[TelemetryStore]:
    if request.param == "postgres":
        settings = settings.model_copy(update={"telemetry_url": request.getfixturevalue("pg_url")})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    s = open_store(settings)
    yield s
    s.close()


@pytest.fixture
def meta(settings: Settings) -> Iterator[MetaStore]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    m = MetaStore(settings.metadata_url)
    m.migrate()
    with m.session() as s:
        s.add(Tenant(id="short", name="Short", retention_days=7))
        s.add(Tenant(id="long", name="Long", retention_days=365))
    yield m
    m.close()


def _points(ages_days: list[int]) -> list[int]:
    return [NOW - a * DAY_MS for a in ages_days]


def test_each_tenant_keeps_its_own_window(meta: MetaStore, store: TelemetryStore) -> None:
    ages = [1, 6, 8, 30, 400]
    for tenant in ("short", "long"):
        ts = _points(ages)
        n = len(ts)
        store.write(
            batch_from_columns([tenant] * n, ["d1"] * n, ["m"] * n, ts, [float(a) for a in ages])
        )
    removed = apply_retention(meta, store, now_ms=NOW)
    assert removed == {"short": 3, "long": 1}

    def kept(tenant: str) -> list[float]:
        q = RawQuery(tenant=tenant, device="d1", metric="m", start_ms=0, end_ms=NOW + 1)
        return sorted(store.raw(q).column("value").to_pylist())

    assert kept("short") == [1.0, 6.0]
    assert kept("long") == [1.0, 6.0, 8.0, 30.0]


async def test_scheduled_job_runs_a_pass_at_start_then_hourly(
    meta: MetaStore, settings: Settings
) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(settings)
    scheduler = Scheduler()
    try:
        store.write(batch_from_columns(["short"], ["d1"], ["m"], [1_000], [1.0]))
        spec = retention_job(meta, store)
        assert spec.id == RETENTION_JOB
        assert spec.trigger == Interval(seconds=3600, at_start=True)
        scheduler.add(spec)
        await scheduler.start()
        q = RawQuery(tenant="short", device="d1", metric="m", start_ms=0, end_ms=2_000)
        await eventually(lambda: scheduler.status(RETENTION_JOB).runs == 1)
        assert store.raw(q).num_rows == 0
        assert scheduler.status(RETENTION_JOB).failures == 0
    finally:
        await scheduler.stop()
        store.close()


async def test_a_failed_pass_is_logged_and_the_next_one_runs(
    meta: MetaStore, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(settings)
    store.close()  # every pass fails: the store is closed
    spec = retention_job(meta, store, every_s=0.05)
    scheduler = Scheduler()
    scheduler.add(spec)
    await scheduler.start()
    try:
        await eventually(lambda: scheduler.status(RETENTION_JOB).failures >= 2)
    finally:
        await scheduler.stop()
    assert any("job retention failed" in r.getMessage() for r in caplog.records)


def test_events_follow_the_tenants_retention(meta: MetaStore, store: TelemetryStore) -> None:
    ages = [1, 6, 8, 400]
    EventStore(meta).write(
        [
            EventRow(tenant, "d1", ts, "jam", "fault", {"age": age})
            for tenant in ("short", "long")
            for ts, age in zip(_points(ages), ages, strict=True)
        ]
    )
    assert apply_retention(meta, store, now_ms=NOW) == {"short": 2, "long": 1}
    with meta.session() as s:
        left = s.execute(sa.select(DeviceEvent.tenant_id, DeviceEvent.data)).all()
    assert sorted((t, d["age"]) for t, d in left) == [
        ("long", 1),
        ("long", 6),
        ("long", 8),
        ("short", 1),
        ("short", 6),
    ]
