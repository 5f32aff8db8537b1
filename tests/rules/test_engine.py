"""The rule engine on a real platform's parts (SQLite metadata, DuckDB telemetry, the in-process
committed stream, the alarm service): it raises from committed batches, and across a restart it
neither loses what was committed while it was down nor raises anything twice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa

from helan.core.points import POINT_SCHEMA
from helan.ingest.stream import CommittedBatch
from helan.rules.engine import MAX_REPLAY_MS, REPLAY_LAG_MS, RuleEngine, replay_start
from helan.storage.meta.events import EventStore
from helan.storage.meta.models_alarms import Alarm, AlarmHistory
from tests.api.meta_world import Api, close_platform, make_api, provision_tenant

RULE = {
    "id": "hot",
    "name": "Hot",
    "target": {"device": "pump-1"},
    "condition": {"kind": "threshold", "metric": "temp", "op": ">", "value": 85},
}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    api, platform = make_api(tmp_path / "var")
    with api.client:
        tenant = provision_tenant(api, "acme")
        api.ok("POST", "/api/v1/tenants/acme/rules", tenant.admin, json=RULE)
        yield api
    close_platform(platform)


def points(values: list[float], start_ms: int) -> pa.Table:
    n = len(values)
    return pa.table(
        {
            "tenant": ["acme"] * n,
            "device": ["pump-1"] * n,
            "metric": ["temp"] * n,
            "ts": [start_ms + 1000 * i for i in range(n)],
            "value": values,
            "text": [None] * n,
            "quality": [0] * n,
        },
        schema=POINT_SCHEMA,
    )


def engine(api: Api, checkpoint: Path) -> RuleEngine:
    p = api.platform
    assert p.alarms is not None
    assert p.rule_source is not None
    return RuleEngine(
        stream=p.pipeline.stream,
        source=p.rule_source,
        sink=p.alarms,
        telemetry=p.telemetry,
        events=EventStore(p.meta),
        checkpoint=checkpoint,
        tick_s=0.05,
        checkpoint_s=60,
    )


def activations(api: Api) -> list[tuple[int, str]]:
    with api.platform.meta.session() as s:
        rows = s.execute(
            sa.select(AlarmHistory.ts_ms, AlarmHistory.action)
            .where(AlarmHistory.rule_id == "hot", AlarmHistory.action.in_(("activate", "return")))
            .order_by(AlarmHistory.ts_ms, AlarmHistory.id)
        ).all()
    return [(int(ts), str(action)) for ts, action in rows]


async def publish_and_wait(api: Api, table: pa.Table) -> None:
    stream = api.platform.pipeline.stream
    api.platform.telemetry.write(table)  # committed first, as the pipeline does
    seq = stream.publish(CommittedBatch(table, committed_ms=int(time.time() * 1000)))
    assert await stream.handled(seq, 10)


async def test_restart_replays_what_was_committed_while_down_and_repeats_nothing(
    api: Api, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "rules.ckpt"
    t0 = int(time.time() * 1000) - 60_000
    first = engine(api, checkpoint)
    await first.start()
    await publish_and_wait(api, points([20, 95, 96, 30], t0))  # raise at +1 s, clear at +3 s
    await first.stop()  # writes the checkpoint
    assert activations(api) == [(t0 + 1000, "activate"), (t0 + 3000, "return")]
    # Committed while no engine ran (the process was down): never published to any subscriber.
    api.platform.telemetry.write(points([97, 40], t0 + 10_000))
    second = engine(api, checkpoint)
    await second.start()
    try:
        assert activations(api)[2:] == [(t0 + 10_000, "activate"), (t0 + 11_000, "return")]
        # The same batch once more (a redelivery): already seen, late, no change.
        await publish_and_wait(api, points([97, 40], t0 + 10_000))
        assert len(activations(api)) == 4
        assert second.live.late >= 2
    finally:
        await second.stop()
    with api.platform.meta.session() as s:
        alarm = s.scalars(sa.select(Alarm).where(Alarm.rule_id == "hot")).one()
    assert alarm.count == 2  # one alarm (never acknowledged), its two activations counted


async def test_damaged_checkpoint_is_set_aside_and_the_last_hour_replayed(
    api: Api, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "rules.ckpt"
    checkpoint.write_bytes(b"HLR1 not a pickle")
    t0 = int(time.time() * 1000) - 30 * 60_000  # half an hour ago: inside the hour
    api.platform.telemetry.write(points([99, 10], t0))
    e = engine(api, checkpoint)
    await e.start()
    try:
        assert checkpoint.with_suffix(".damaged").read_bytes() == b"HLR1 not a pickle"
        assert activations(api) == [(t0, "activate"), (t0 + 1000, "return")]
        assert checkpoint.exists()  # a fresh one, written at boot
    finally:
        await e.stop()


async def test_a_rule_saved_while_running_is_loaded_and_a_deleted_one_returns_to_normal(
    api: Api, tmp_path: Path
) -> None:
    e = engine(api, tmp_path / "rules.ckpt")
    e.reload_s = 0.05
    await e.start()
    try:
        t0 = int(time.time() * 1000) - 10_000
        await publish_and_wait(api, points([95], t0))
        assert activations(api) == [(t0, "activate")]
        admin = api.as_admin()
        r = api.client.delete("/api/v1/tenants/acme/rules/hot", headers=admin)
        assert r.status_code == 204, r.text
        deadline = time.monotonic() + 5
        while len(activations(api)) < 2 and time.monotonic() < deadline:  # noqa: ASYNC110 - polling the database
            await asyncio.sleep(0.05)
        assert [a for _, a in activations(api)] == ["activate", "return"]
        assert e.live.rules == []
    finally:
        await e.stop()


def test_replay_starts_before_the_checkpoint_for_a_series_that_was_behind() -> None:
    now = 100_000_000
    saved = now - 20_000
    assert replay_start(saved, None, now) == saved - REPLAY_LAG_MS
    lagging = {"py_ts": {(("acme", "d1"), "m"): saved - REPLAY_LAG_MS - 120_000}}
    assert replay_start(saved, lagging, now) == saved - REPLAY_LAG_MS - 120_000
    layers = {"layers": {("acme", "r", 1, 0, "d2"): (1, saved - REPLAY_LAG_MS - 300_000)}}
    assert replay_start(saved, layers, now) == saved - REPLAY_LAG_MS - 300_000
    # Silent for longer than half an hour before the checkpoint: no backlog expected from it.
    silent = {"seen": {(("acme", "d3"), None): saved - 3_000_000}}
    assert replay_start(saved, silent, now) == saved - REPLAY_LAG_MS
    # Never more than an hour back.
    old = now - 2 * MAX_REPLAY_MS
    assert replay_start(old, None, now) == now - MAX_REPLAY_MS


def interleaved(values: list[float], start_ms: int, parity: int) -> pa.Table:
    """The points of ``values`` at even (0) or odd (1) positions: what one of two ingest
    processes sharing the broker's load commits of one device."""
    table = points(values, start_ms)
    return table.take([i for i in range(table.num_rows) if i % 2 == parity])


async def test_reorder_window_merges_batches_of_two_ingests_in_device_time(
    api: Api, tmp_path: Path
) -> None:
    values = [float(10 * (i % 10)) for i in range(40)]  # 90 at i % 10 == 9: four excursions
    t0 = int(time.time() * 1000) - 60_000
    e = engine(api, tmp_path / "rules.ckpt")
    e.reorder_ms = 300
    await e.start()
    try:
        stream = api.platform.pipeline.stream
        for parity in (0, 1):  # the odd positions arrive after all the even ones
            batch = interleaved(values, t0, parity)
            api.platform.telemetry.write(batch)
            stream.publish(CommittedBatch(batch, committed_ms=int(time.time() * 1000)))
        deadline = time.monotonic() + 5
        while len(activations(api)) < 7 and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        raised = [ts for ts, action in activations(api) if action == "activate"]
        assert raised == [t0 + 1000 * i for i in (9, 19, 29, 39)]
        assert e.live.late == 0
    finally:
        await e.stop()
