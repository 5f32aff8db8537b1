"""Bulk bodies (JSON rows, JSON columns, Arrow, CSV) through the vectorised validator, and
parity with the per-message validator on the same cases."""

from __future__ import annotations

import io

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from ingest_model import TENANT, now_ms

from helan.connect.http.bodies import BodyError, decode
from helan.ingest.bulk import validate
from helan.ingest.native import decode_native


def run(directory, settings, body: bytes, ctype: str = "application/json"):
    now = now_ms()
    cand = decode(body, ctype, tenant=TENANT, now_ms=now)
    return validate(cand, tenant=TENANT, directory=directory, settings=settings, now_ms=now)


# (device, metric, value, expected reason) — the same rules as test_ingest_native.
CASES = [
    ("pump-1", "pressure", 1.5, "ok"),
    ("pump-1", "pressure", 0, "ok"),
    ("pump-1", "count", 7, "ok"),
    ("pump-1", "running", False, "ok"),
    ("pump-1", "state", "on", "ok"),
    ("pump-1", "pressure", "1.5", "wrong_type"),
    ("pump-1", "pressure", True, "wrong_type"),
    ("pump-1", "pressure", None, "bad_value"),
    ("pump-1", "pressure", [1], "bad_value"),
    ("pump-1", "pressure", 250.0, "out_of_range"),
    ("pump-1", "count", 2.5, "wrong_type"),
    ("pump-1", "running", 1, "wrong_type"),
    ("pump-1", "state", 3, "wrong_type"),
    ("pump-1", "nope", 1, "unknown_metric"),
    ("ghost", "pressure", 1, "unknown_device"),
    ("old", "pressure", 1, "device_disabled"),
]


def test_rows_and_native_agree(directory, settings) -> None:
    ts = now_ms()
    rows = [{"device": d, "metric": m, "ts": ts, "value": v} for d, m, v, _ in CASES]
    result = run(directory, settings, orjson.dumps(rows))
    got = {e.index: e.reason for e in result.errors}
    for i, (device, metric, value, expected) in enumerate(CASES):
        assert got.get(i, "ok") == expected, (device, metric, value)
        scalar = decode_native(
            orjson.dumps({"ts": ts, "values": {metric: value}}),
            tenant=TENANT,
            device=device,
            ref=directory.lookup(TENANT, device),
            now_ms=now_ms(),
            settings=settings,
        )
        assert (scalar.errors[0].reason if scalar.errors else "ok") == expected
    ok = [c for c in CASES if c[3] == "ok"]
    assert result.accepted == len(ok)
    assert result.rejected == len(CASES) - len(ok)
    t = result.table.to_pydict()
    assert t["tenant"] == [TENANT] * len(ok)
    assert t["metric"] == ["pressure", "pressure", "count", "running", "state"]
    assert t["value"] == [1.5, 0.0, 7.0, 0.0, None]
    assert t["text"] == [None, None, None, None, "on"]


def test_columns_fast_path(directory, settings) -> None:
    ts = [now_ms() - 1000 * i for i in range(1000)]
    body = {
        "device": "pump-1",
        "ts": ts,
        "values": {"pressure": [i / 20 for i in range(1000)], "count": list(range(1000))},
    }
    result = run(directory, settings, orjson.dumps([body, {**body, "device": "pump-2"}]))
    assert result.rejected == 0
    assert result.accepted == 4000
    assert set(result.table["device"].to_pylist()) == {"pump-1", "pump-2"}


def test_columns_mixed_column_rejects_only_bad_points(directory, settings) -> None:
    ts = now_ms()
    body = {
        "device": "pump-1",
        "ts": [ts, ts + 1, ts + 2, "2100-01-01T00:00:00Z", ts + 4],
        "values": {"pressure": [1.0, True, "x", 2.0, float("inf") if False else 3]},
    }
    result = run(directory, settings, orjson.dumps(body))
    assert {e.index: e.reason for e in result.errors} == {
        1: "wrong_type",
        2: "wrong_type",
        3: "ts_future",
    }
    assert result.table["value"].to_pylist() == [1.0, 3.0]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"{oops", "not valid JSON"),
        (b'{"device": "pump-1", "ts": [1, 2], "values": {"pressure": [1]}}', "as long as ts"),
        (b'{"device": 5, "ts": [], "values": {}}', "'device' must be a string"),
        (b"[1, 2]", "block 0"),
        (b"[" * 10_000 + b"]" * 10_000, "not valid JSON"),
        (b'{"device": "pump-1", "ts": [1], "values": {"pressure": [1e400]}}', "not valid JSON"),
    ],
)
def test_unreadable_json(directory, settings, body, needle) -> None:
    with pytest.raises(BodyError, match=needle):
        run(directory, settings, body)


def arrow_body(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def test_arrow_body(directory, settings) -> None:
    ts = now_ms()
    table = pa.table(
        {
            "device": ["pump-1", "pump-1", "ghost", "pump-1", None],
            "metric": ["pressure", "pressure", "pressure", "pressure", "pressure"],
            "ts": pa.array([ts, ts + 1, ts, 0, ts], pa.int64()),
            "value": [1.0, float("nan"), 2.0, 3.0, 4.0],
        }
    )
    result = run(directory, settings, arrow_body(table), "application/vnd.apache.arrow.stream")
    assert {e.index: e.reason for e in result.errors} == {
        1: "not_finite",
        2: "unknown_device",
        3: "ts_past",
        4: "bad_name",
    }
    assert result.table["value"].to_pylist() == [1.0]


def test_arrow_wrong_tenant_column_refused(directory, settings) -> None:
    table = pa.table(
        {
            "tenant": ["bolt"],
            "device": ["pump-1"],
            "metric": ["pressure"],
            "ts": [now_ms()],
            "value": [1.0],
        }
    )
    with pytest.raises(BodyError, match="tenant column"):
        run(directory, settings, arrow_body(table), "application/vnd.apache.arrow.stream")


def test_arrow_garbage(directory, settings) -> None:
    with pytest.raises(BodyError, match="Arrow"):
        run(directory, settings, b"\x00\x01garbage", "application/vnd.apache.arrow.stream")


def test_csv_body(directory, settings) -> None:
    ts = now_ms()
    csv = (
        "device,metric,ts,value\n"
        f"pump-1,pressure,{ts},12.5\n"
        f"pump-1,running,{ts},true\n"
        f"pump-1,state,{ts},42\n"
        f"pump-1,pressure,{ts},nan\n"
        f"pump-1,pressure,{ts},abc\n"
        f"pump-1,count,2025-06-01T00:00:00Z,3\n"
    ).encode()
    result = run(directory, settings, csv, "text/csv")
    assert {e.index: e.reason for e in result.errors} == {3: "not_finite", 4: "wrong_type"}
    t = result.table.to_pydict()
    assert t["metric"] == ["pressure", "running", "state", "count"]
    assert t["value"] == [12.5, 1.0, None, 3.0]
    assert t["text"] == [None, None, "42", None]
    assert t["ts"][3] == 1748736000000


@pytest.mark.parametrize(
    "body", [b"device,metric\npump-1,pressure\n", b'device,metric,ts,value\n"a,b\n1,2,3\n']
)
def test_csv_unreadable(directory, settings, body) -> None:
    with pytest.raises(BodyError):
        run(directory, settings, body, "text/csv")


def test_csv_round_trip_from_arrow_writer(directory, settings) -> None:
    table = pa.table(
        {
            "device": ["pump-2"] * 3,
            "metric": ["count"] * 3,
            "ts": [now_ms()] * 3,
            "value": [1, 2, 3],
        }
    )
    sink = io.BytesIO()
    pacsv.write_csv(table, sink)
    result = run(directory, settings, sink.getvalue(), "text/csv")
    assert result.accepted == 3
