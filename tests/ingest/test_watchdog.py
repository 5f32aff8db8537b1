"""Online/offline transitions become stored device events on the committed-data stream."""

from __future__ import annotations

import pytest
from ingest_model import DEVICES, TENANT, now_ms

from helan.core.events import EventRow
from helan.core.points import batch_from_columns
from helan.ingest.live import LiveState
from helan.ingest.pipeline import IngestPipeline
from helan.ingest.static_directory import StaticDirectory
from helan.ingest.stream import Committed, CommittedBatch, CommittedEvents
from helan.ingest.watchdog import DEVICE_OFFLINE, DEVICE_ONLINE, OnlineWatchdog
from helan.storage.meta.events import EventStore


def names(rows: list[EventRow]) -> list[tuple[str, str, int]]:
    return [(r.device, r.event, r.ts) for r in rows]


async def test_transitions_are_raised_once_at_the_devices_times(store, settings, meta) -> None:
    live = LiveState(offline_after_s=60)
    pipe = IngestPipeline(store, live, settings, events=EventStore(meta))
    got: list[Committed] = []
    pipe.stream.subscribe("test", got.append)
    directory = StaticDirectory.from_records(DEVICES)
    dog = OnlineWatchdog(live, pipe, directory)
    t0 = now_ms()
    # Heard from as the stream tells it: committed points (merged into live state lazily).
    live.on_committed(
        CommittedBatch(
            batch_from_columns([TENANT], ["pump-1"], ["count"], [t0], [1.0]), committed_ms=t0
        )
    )
    live.seen("bolt", "ghost", t0)  # not in the directory: never watched
    assert names(await dog.check(t0 + 1000)) == [("pump-1", DEVICE_ONLINE, t0)]
    assert await dog.check(t0 + 2000) == []  # no change, nothing raised
    offline = await dog.check(t0 + 61_000)
    assert names(offline) == [("pump-1", DEVICE_OFFLINE, t0 + 60_000)]
    assert offline[0].level == "warning"
    assert offline[0].data["timeout_s"] == 60
    live.seen(TENANT, "pump-1", t0 + 90_000)
    assert names(await dog.check(t0 + 90_500)) == [("pump-1", DEVICE_ONLINE, t0 + 90_000)]
    assert await pipe.stream.drain()
    published = [r for g in got if isinstance(g, CommittedEvents) for r in g.rows]
    assert [r.event for r in published] == [DEVICE_ONLINE, DEVICE_OFFLINE, DEVICE_ONLINE]

    # A restarted (or second) watchdog raises the same events at the same times: the store
    # keeps one of each and nothing new reaches the stream.
    again = OnlineWatchdog(live, pipe, directory)
    assert names(await again.check(t0 + 91_000)) == [("pump-1", DEVICE_ONLINE, t0 + 90_000)]
    assert await pipe.stream.drain()
    assert sum(len(g.rows) for g in got if isinstance(g, CommittedEvents)) == 3


async def test_a_failed_event_write_is_raised_again(store, settings, meta) -> None:
    live = LiveState(offline_after_s=60)
    pipe = IngestPipeline(store, live, settings)  # no event store: every write refused
    dog = OnlineWatchdog(live, pipe, StaticDirectory.from_records(DEVICES))
    t0 = now_ms()
    live.seen(TENANT, "pump-2", t0)
    with pytest.raises(Exception, match="no event store"):
        await dog.check(t0 + 10)
    pipe.events = EventStore(meta)
    assert names(await dog.check(t0 + 20)) == [("pump-2", DEVICE_ONLINE, t0)]
