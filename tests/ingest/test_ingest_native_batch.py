"""The batched MQTT path must accept, reject and report exactly what the per-message path does."""

from __future__ import annotations

from collections import Counter

import orjson
from ingest_model import TENANT, now_ms

from helan.ingest.native import decode_native
from helan.ingest.native_batch import BatchDecoded, decode_batch
from helan.ingest.pipeline import points_table


def _messages(ts: int) -> list[tuple[str, str, bytes]]:
    good = {"ts": ts, "values": {"pressure": 1.5, "count": 3, "running": True, "state": "ok"}}
    cases: list[tuple[str, str, object]] = [
        (TENANT, "pump-1", good),
        (TENANT, "pump-2", {"ts": ts + 1, "values": {"pressure": 2.5}}),
        ("bolt", "pump-1", {"ts": ts, "values": {"pressure": 3.5, "count": 7}}),  # other tenant
        (TENANT, "pump-1", {"values": {"pressure": 4.0}}),  # no ts: arrival time
        (TENANT, "pump-1", {"ts": ts + 2, "values": {"pressure": 500.0, "count": 1}}),  # range
        (TENANT, "pump-2", {"ts": ts, "values": {"pressure": "high"}}),  # wrong type
        (TENANT, "pump-2", {"ts": ts, "values": {"nope": 1}}),  # unknown metric
        (TENANT, "ghost", {"ts": ts, "values": {"pressure": 1.0}}),  # unknown device
        (TENANT, "old", {"ts": ts, "values": {"pressure": 1.0}}),  # disabled device
        (TENANT, "pump-1", {"ts": 0, "values": {"pressure": 1.0}}),  # 1970
        (TENANT, "pump-1", b'{"ts": 1180591620717411303424, "values": {"pressure": 1.0}}'),
        (TENANT, "pump-1", {"ts": "2024-01-01T00:00:00Z", "values": {"count": 2}}),  # RFC 3339
        (TENANT, "pump-2", [{"ts": ts + 5, "values": {"count": 1}}, {"values": {"count": 2}}]),
        (TENANT, "pump-1", b"{broken"),
        (TENANT, "pump-1", {"ts": ts, "values": []}),
        (TENANT, "pump-2", {"ts": ts, "values": {}}),
    ]
    return [(t, d, p if isinstance(p, bytes) else orjson.dumps(p)) for t, d, p in cases]


def test_batch_agrees_with_per_message_path(directory, settings) -> None:
    now = now_ms()
    messages = _messages(now - 1000)
    batch = decode_batch(messages, directory=directory, settings=settings, now_ms=now)
    singles = [
        decode_native(
            p, tenant=t, device=d, ref=directory.lookup(t, d), now_ms=now, settings=settings
        )
        for t, d, p in messages
    ]
    expected = points_table([s.points for s in singles if s.points.ts])
    table = batch.table()
    assert table is not None
    key = ["tenant", "device", "metric", "ts"]
    got = table.sort_by([(k, "ascending") for k in key]).to_pylist()
    want = expected.sort_by([(k, "ascending") for k in key]).to_pylist()
    assert got == want
    assert batch.accepted == expected.num_rows
    faults = {i: d.report() for i, d in batch.faults}
    assert faults == {i: s.report() for i, s in enumerate(singles) if s.reasons}
    per_message = sum((s.reasons for s in singles if s.points.tenant == TENANT), Counter())
    assert batch.reasons()[TENANT] == per_message


def test_partly_rejected_message_is_all_or_nothing_in_the_fast_path(directory, settings) -> None:
    """A message with one bad point keeps its good points, once (not twice)."""
    now = now_ms()
    body = {"ts": now, "values": {"pressure": 500.0, "count": 4}}
    batch = decode_batch(
        [(TENANT, "pump-1", orjson.dumps(body))], directory=directory, settings=settings, now_ms=now
    )
    table = batch.table()
    assert table is not None
    assert table.to_pydict()["metric"] == ["count"]
    ((index, fault),) = batch.faults
    assert index == 0
    assert fault.report()["rejected"] == 1


def test_empty_batch(directory, settings) -> None:
    batch = decode_batch([], directory=directory, settings=settings, now_ms=now_ms())
    assert batch.table() is None
    assert batch.faults == []


def test_spec_cache_follows_directory_changes(settings) -> None:
    """Checks kept from one batch to the next are dropped when the directory's device changes
    (disabled, narrower range) and when the device sends other metrics."""
    from ingest_model import DEVICES

    from helan.ingest.native_batch import SpecCache
    from helan.ingest.static_directory import StaticDirectory

    specs = SpecCache()
    now = now_ms()

    def run(directory: StaticDirectory, values: dict[str, object]) -> BatchDecoded:
        body = orjson.dumps({"ts": now, "values": values})
        return decode_batch(
            [(TENANT, "pump-1", body)],
            directory=directory,
            settings=settings,
            now_ms=now,
            specs=specs,
        )

    first = StaticDirectory.from_records(DEVICES)
    assert run(first, {"pressure": 50.0}).accepted == 1
    assert run(first, {"pressure": 50.0}).accepted == 1  # from the cache

    narrower = [dict(d) for d in DEVICES]
    narrower[0]["metrics"] = [{"name": "pressure", "type": "float", "min": 0.0, "max": 10.0}]
    batch = run(StaticDirectory.from_records(narrower), {"pressure": 50.0})
    assert batch.accepted == 0
    assert batch.reasons()[TENANT] == Counter({"out_of_range": 1})

    disabled = [dict(d) for d in DEVICES]
    disabled[0]["enabled"] = False
    batch = run(StaticDirectory.from_records(disabled), {"pressure": 5.0})
    assert batch.reasons()[TENANT] == Counter({"device_disabled": 1})

    batch = run(first, {"pressure": 5.0, "nope": 1})  # other metrics: resolved again
    assert batch.reasons()[TENANT] == Counter({"unknown_metric": 1})
    assert run(first, {"pressure": 5.0}).accepted == 1
