"""The batching writer over a real DuckDB store: durable on resolve, merged, never silent."""

from __future__ import annotations

import asyncio

import pytest
from ingest_model import TENANT, now_ms

from helan.core.errors import StorageUnavailable
from helan.core.points import batch_from_columns
from helan.ingest.live import LiveState
from helan.ingest.native import DevicePoints
from helan.ingest.pipeline import IngestPipeline
from helan.storage.telemetry.base import RawQuery


def points(device: str, ts0: int, n: int, metric: str = "pressure") -> DevicePoints:
    return DevicePoints(
        TENANT,
        device,
        [metric] * n,
        list(range(ts0, ts0 + n)),
        [float(i) for i in range(n)],
        [None] * n,
    )


def stored(store, device: str, metric: str = "pressure") -> list[tuple[int, float]]:
    t = store.raw(
        RawQuery(
            tenant=TENANT, device=device, metric=metric, start_ms=0, end_ms=2**62, limit=100_000
        )
    )
    return list(zip(t["ts"].to_pylist(), t["value"].to_pylist(), strict=True))


class FlakyStore:
    """The real store behind a switch that makes writes fail (a disk full, a lost database)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.failing = False

    def write(self, batch):
        if self.failing:
            raise OSError("disk full")
        return self.inner.write(batch)

    def __getattr__(self, name):
        return getattr(self.inner, name)


async def test_submit_resolves_after_durable_write_and_merges(store, settings) -> None:
    live = LiveState(offline_after_s=60)
    pipe = IngestPipeline(store, live, settings.model_copy(update={"ingest_batch_ms": 50}))
    await pipe.start()
    ts0 = now_ms() - 10_000
    counts = await asyncio.gather(
        *(pipe.submit_points(points("pump-1", ts0 + 100 * i, 100)) for i in range(50))
    )
    assert counts == [100] * 50
    assert len(stored(store, "pump-1")) == 5000  # readable the moment submit returned
    assert pipe.counters.batches < 10  # 50 submissions merged into few writes
    snap = pipe.counters.snapshot(TENANT)
    assert snap["accepted"] == 5000
    assert live.device(TENANT, "pump-1").values["pressure"].ts == ts0 + 4999
    await pipe.stop()


async def test_arrow_and_lists_in_one_batch(store, settings) -> None:
    pipe = IngestPipeline(store, LiveState(offline_after_s=60), settings)
    await pipe.start()
    ts = now_ms()
    table = batch_from_columns([TENANT], ["pump-2"], ["state"], [ts], [None], ["ok"])
    a, b = await asyncio.gather(pipe.submit(table), pipe.submit_points(points("pump-2", ts, 3)))
    assert (a, b) == (1, 3)
    assert len(stored(store, "pump-2")) == 3
    await pipe.stop()


async def test_failed_write_reaches_every_submitter(store, settings) -> None:
    flaky = FlakyStore(store)
    pipe = IngestPipeline(flaky, LiveState(offline_after_s=60), settings)
    await pipe.start()
    flaky.failing = True
    ts = now_ms()
    results = await asyncio.gather(
        pipe.submit_points(points("pump-1", ts, 5)),
        pipe.submit_points(points("pump-2", ts, 5)),
        return_exceptions=True,
    )
    assert all(isinstance(r, StorageUnavailable) for r in results)
    assert "disk full" in str(results[0])
    assert pipe.counters.write_failures >= 1
    assert pipe.counters.snapshot(TENANT)["accepted"] == 0
    flaky.failing = False  # the writer survived: the next submission goes through
    assert await pipe.submit_points(points("pump-1", ts, 5)) == 5
    assert len(stored(store, "pump-1")) == 5
    await pipe.stop()


async def test_stop_flushes_pending(store, settings) -> None:
    pipe = IngestPipeline(
        store,
        LiveState(offline_after_s=60),
        settings.model_copy(update={"ingest_batch_ms": 60_000}),
    )
    await pipe.start()
    task = asyncio.create_task(pipe.submit_points(points("pump-1", now_ms(), 7)))
    await asyncio.sleep(0.05)
    assert not task.done()  # waiting for a batch that would take a minute to age
    await pipe.stop()
    assert await task == 7
    assert len(stored(store, "pump-1")) == 7
    with pytest.raises(StorageUnavailable, match="not running"):
        await pipe.submit_points(points("pump-1", now_ms(), 1))


async def test_batch_size_limit_triggers_write(store, settings) -> None:
    pipe = IngestPipeline(
        store,
        LiveState(offline_after_s=60),
        settings.model_copy(update={"ingest_batch_ms": 60_000, "ingest_batch_points": 100}),
    )
    await pipe.start()
    done = await asyncio.wait_for(pipe.submit_points(points("pump-1", now_ms(), 100)), 5)
    assert done == 100
    await pipe.stop()


async def test_live_keeps_newest_with_out_of_order_input(store, settings) -> None:
    live = LiveState(offline_after_s=60)
    pipe = IngestPipeline(store, live, settings)
    await pipe.start()
    ts = now_ms()
    p = DevicePoints(
        TENANT, "pump-1", ["pressure"] * 3, [ts, ts - 5, ts - 9], [1.0, 2.0, 3.0], [None] * 3
    )
    await pipe.submit_points(p)
    await pipe.submit_points(points("pump-1", ts - 100, 1))  # older: must not replace
    latest = live.device(TENANT, "pump-1").values["pressure"]
    assert (latest.ts, latest.value) == (ts, 1.0)
    assert live.online(live.device(TENANT, "pump-1"), now_ms())
    await pipe.stop()
