"""The committed-data stream: what subscribers get after a commit, and that none of them can
hold the commit path up."""

from __future__ import annotations

import asyncio

import pytest
from ingest_model import TENANT, now_ms
from prometheus_client import REGISTRY

from helan.core.events import EventRow
from helan.core.points import batch_from_columns
from helan.ingest.live import LiveState
from helan.ingest.native import DevicePoints
from helan.ingest.pipeline import IngestPipeline
from helan.ingest.stream import Committed, CommittedBatch, CommittedEvents, CommittedStream
from helan.storage.meta import MetaStore
from helan.storage.meta.events import EventStore


def table(device: str, ts: list[int]):
    n = len(ts)
    return batch_from_columns([TENANT] * n, [device] * n, ["t"] * n, ts, [float(t) for t in ts])


async def test_commits_arrive_in_submission_order_with_backfill_apart(store, settings) -> None:
    live = LiveState(offline_after_s=60)
    pipe = IngestPipeline(store, live, settings.model_copy(update={"ingest_batch_ms": 50}))
    got: list[Committed] = []
    pipe.stream.subscribe("test", got.append)
    await pipe.start()
    t0 = now_ms() - 10_000
    await asyncio.gather(
        pipe.submit(table("a", [t0, t0 + 1])),
        pipe.submit_points(DevicePoints(TENANT, "a", ["t"], [t0 + 2], [2.0], [None])),
        pipe.submit(table("a", [t0 - 5000]), historical=True),
        pipe.submit(table("a", [t0 + 3])),
    )
    assert await pipe.stream.drain()
    await pipe.stop()
    batches = [g for g in got if isinstance(g, CommittedBatch)]
    live_ts = [ts for b in batches if not b.historical for ts in b.points["ts"].to_pylist()]
    old_ts = [ts for b in batches if b.historical for ts in b.points["ts"].to_pylist()]
    assert live_ts == [t0, t0 + 1, t0 + 2, t0 + 3]
    assert old_ts == [t0 - 5000]
    # Live state is a subscriber too: the backfill did not become a live value.
    state = live.device(TENANT, "a")
    assert state is not None
    assert state.values["t"].ts == t0 + 3
    assert all(b.committed_ms >= t0 for b in batches)


async def test_backfill_never_replaces_the_live_value(store, settings) -> None:
    live = LiveState(offline_after_s=60)
    pipe = IngestPipeline(store, live, settings.model_copy(update={"ingest_batch_ms": 10}))
    await pipe.start()
    t0 = now_ms()
    await pipe.submit(table("a", [t0 - 60_000]))
    await pipe.submit(table("a", [t0 - 1000]), historical=True)  # newer, but backfill
    assert await pipe.stream.drain()
    await pipe.stop()
    state = live.device(TENANT, "a")
    assert state is not None
    assert state.values["t"].ts == t0 - 60_000


async def test_a_stuck_subscriber_never_blocks_commits_and_its_lag_is_measured(
    store, settings
) -> None:
    pipe = IngestPipeline(store, None, settings.model_copy(update={"ingest_batch_ms": 5}))
    release = asyncio.Event()
    fast: list[int] = []

    async def stuck(item: Committed) -> None:
        await release.wait()

    pipe.stream.subscribe("stuck", stuck, max_points=3)
    pipe.stream.subscribe("fast", lambda item: fast.append(item.points.num_rows))
    await pipe.start()
    t0 = now_ms()
    for i in range(6):  # each awaited: six commits, none waits for the stuck subscriber
        assert await asyncio.wait_for(pipe.submit(table("a", [t0 + i])), 5) == 1
    await asyncio.sleep(0.05)
    status = {s.name: s for s in pipe.stream.status()}
    assert status["stuck"].dropped == 2  # 1 in its handler, 3 queued, the 2 oldest dropped
    assert status["stuck"].pending == 3
    assert status["stuck"].lag_s > 0
    assert (
        REGISTRY.get_sample_value("helan_stream_subscriber_lag_batches", {"subscriber": "stuck"})
        == 3
    )
    assert status["fast"].dropped == 0
    assert fast == [1] * 6
    release.set()
    assert await pipe.stream.drain()
    await pipe.stop()


async def test_a_failing_subscriber_gets_the_next_item(store, settings) -> None:
    pipe = IngestPipeline(store, None, settings.model_copy(update={"ingest_batch_ms": 5}))
    seen: list[int] = []

    def flaky(item: Committed) -> None:
        assert isinstance(item, CommittedBatch)
        ts = item.points["ts"][0].as_py()
        seen.append(ts)
        if len(seen) == 1:
            raise RuntimeError("subscriber bug")

    pipe.stream.subscribe("flaky", flaky)
    await pipe.start()
    t0 = now_ms()
    await pipe.submit(table("a", [t0]))
    await pipe.submit(table("a", [t0 + 1]))
    assert await pipe.stream.drain()
    await pipe.stop()
    assert seen == [t0, t0 + 1]
    assert [s.failed for s in pipe.stream.status() if s.name == "flaky"] == [1]


async def test_only_new_events_are_published(store, settings, meta: MetaStore) -> None:
    pipe = IngestPipeline(store, None, settings, events=EventStore(meta))
    got: list[Committed] = []
    pipe.stream.subscribe("test", got.append)
    t0 = now_ms()
    first = [
        EventRow(TENANT, "a", t0, "jam", "fault", {}),
        EventRow(TENANT, "a", t0, "x", "info", {}),
    ]
    assert await pipe.submit_events(first) == first
    again = [*first, EventRow(TENANT, "a", t0 + 1, "jam", "fault", {})]  # a redelivery + 1
    assert await pipe.submit_events(again) == [again[2]]
    assert await pipe.stream.drain()
    assert [[r.ts for r in g.rows] for g in got if isinstance(g, CommittedEvents)] == [
        [t0, t0],
        [t0 + 1],
    ]


async def test_a_subscriber_name_is_taken_once() -> None:
    stream = CommittedStream()
    stream.subscribe("x", lambda item: None)
    with pytest.raises(ValueError, match="already exists"):
        stream.subscribe("x", lambda item: None)
    await stream.unsubscribe("x")
    stream.subscribe("x", lambda item: None)
    await stream.close()


async def test_handled_waits_only_for_the_item_asked_about() -> None:
    stream = CommittedStream()
    release = asyncio.Event()

    async def slow(item: Committed) -> None:
        assert isinstance(item, CommittedBatch)
        if item.points["ts"][0].as_py() == 2:
            await release.wait()

    stream.subscribe("slow", slow)
    first = stream.publish(CommittedBatch(table("a", [1])))
    second = stream.publish(CommittedBatch(table("a", [2])))
    stream.subscribe("late", lambda item: None)  # subscribed after both: not waited for
    assert await stream.handled(first, 1)
    assert not await stream.handled(second, 0.05)
    assert not await stream.drain(0.05)
    release.set()
    assert await stream.handled(second, 1)
    assert stream.publish(CommittedBatch(table("a", []))) == 0  # empty: not published
    await stream.close()
