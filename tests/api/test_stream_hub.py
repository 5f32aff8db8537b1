"""The console hub on its own: coalescing, bounded mailboxes with counted drops, tenant and
device filters, status changes and alarms, one stream subscription for every tab."""

from __future__ import annotations

import pyarrow as pa

from helan.core.events import EventRow
from helan.core.points import POINT_SCHEMA
from helan.ingest.stream import CommittedBatch, CommittedEvents, CommittedStream
from helan.services.stream_hub import SUBSCRIBER, StreamHub


def _points(tenant: str, device: str, metric: str, values: list[float], t0: int = 1000) -> pa.Table:
    n = len(values)
    rows = {
        "tenant": [tenant] * n,
        "device": [device] * n,
        "metric": [metric] * n,
        "ts": [t0 + i for i in range(n)],
        "value": values,
        "text": [None] * n,
        "quality": [0] * n,
    }
    return pa.table({f.name: rows.get(f.name, [None] * n) for f in POINT_SCHEMA}, POINT_SCHEMA)


def test_latest_values_coalesce_and_tenants_stay_apart() -> None:
    stream = CommittedStream()
    hub = StreamHub(stream)
    a, b = hub.connect("acme"), hub.connect("bolt")
    hub.connect("acme")
    assert [s.name for s in stream.status()] == [SUBSCRIBER]  # one subscription for all
    for i in range(10):
        hub.on_committed(CommittedBatch(_points("acme", "p1", "temp", [float(i)], t0=1000 + i)))
    hub.on_committed(CommittedBatch(_points("acme", "p1", "temp", [99.0], t0=1)))  # older
    hub.on_committed(CommittedBatch(_points("acme", "p1", "temp", [-1.0]), historical=True))
    frame = a.take()
    assert frame.points == {"p1": {"temp": [1009, 9.0]}}
    assert a.coalesced == 9
    assert not b.pending  # bolt saw nothing of acme
    assert not a.pending  # taken
    assert hub.clients() == 3


def test_device_filter_status_and_alarms() -> None:
    hub = StreamHub(CommittedStream())
    only = hub.connect("acme", ["p2"])
    every = hub.connect("acme")
    hub.on_committed(CommittedBatch(_points("acme", "p1", "temp", [1.0])))
    rows = [
        EventRow("acme", "p1", 5, "device_offline", "warning", {}),
        EventRow("acme", "p2", 6, "device_online", "info", {}),
        EventRow("acme", "p2", 7, "overheat", "fault", {}),  # not a status change
    ]
    hub.on_committed(CommittedEvents(rows))
    hub.publish_alarm("acme", {"id": "a1", "device": "p1", "state": "active"})
    hub.publish_alarm("acme", {"id": "a2", "state": "cleared"})  # no device: everyone
    hub.publish_alarm("bolt", {"id": "b1"})
    got = only.take()
    assert got.points == {}
    assert got.events == [
        ("device", {"device": "p2", "online": True, "ts": 6}),
        ("alarm", {"id": "a2", "state": "cleared"}),
    ]
    assert [k for k, _ in every.take().events] == ["device", "device", "alarm", "alarm"]


def test_slow_client_is_bounded_and_told() -> None:
    hub = StreamHub(CommittedStream(), max_series=3, max_events=4)
    slow = hub.connect("acme")
    for i in range(10):
        hub.publish_alarm("acme", {"id": f"a{i}"})
    for m in ("a", "b", "c", "d", "e"):
        hub.on_committed(CommittedBatch(_points("acme", "p1", m, [1.0])))
    frame = slow.take()
    assert [p["id"] for _, p in frame.events] == ["a6", "a7", "a8", "a9"]  # newest kept
    assert len(frame.points["p1"]) == 3
    assert frame.lost == 6 + 2
    assert slow.stats()["dropped"] == 8
    assert slow.take().lost == 0  # told once


async def test_disconnect_and_close_unsubscribe() -> None:
    stream = CommittedStream()
    hub = StreamHub(stream)
    c = hub.connect("acme")
    hub.disconnect(c)
    assert hub.clients("acme") == 0
    hub.on_committed(CommittedBatch(_points("acme", "p1", "temp", [1.0])))
    assert not c.pending
    await hub.close()
    assert stream.status() == []
