"""The TelemetryStore contract, run against both backends (see conftest.py)."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from telemetry_helpers import T0, Store, points

from helan.config import Settings
from helan.core.errors import ValidationFailed
from helan.core.points import POINT_SCHEMA, batch_from_columns
from helan.storage.telemetry import open_store as open_configured
from helan.storage.telemetry.base import AGG_FNS, MAX_PAGE, AggQuery, RawQuery
from helan.storage.telemetry.duckdb.store import DuckDBStore


def raw(store: Store, **kw: object) -> pa.Table:
    args: dict[str, object] = {
        "tenant": "acme",
        "device": "pump-1",
        "metric": "pressure",
        "start_ms": T0 - 10**9,
        "end_ms": T0 + 10**9,
    }
    args.update(kw)
    return store.raw(RawQuery(**args))  # type: ignore[arg-type]


def test_round_trip_and_series_kept_apart(store: Store) -> None:
    store.write(points(np.array([T0, T0 + 1000]), np.array([1.25, 2.5])))
    store.write(points(np.array([T0]), np.array([7.0]), device="pump-2"))
    store.write(points(np.array([T0]), np.array([8.0]), tenant="other"))
    got = raw(store)
    assert got.column("ts").to_pylist() == [T0, T0 + 1000]
    assert got.column("value").to_pylist() == [1.25, 2.5]
    assert raw(store, device="pump-2").column("value").to_pylist() == [7.0]
    assert raw(store, tenant="other").column("value").to_pylist() == [8.0]
    assert raw(store, device="nobody").num_rows == 0


def test_between_reads_every_device_of_the_chosen_metrics_in_order(store: Store) -> None:
    store.write(points(np.array([T0 + 2000, T0]), np.array([2.0, 1.0]), device="pump-2"))
    store.write(points(np.array([T0 + 1000]), np.array([5.0]), device="pump-1"))
    store.write(points(np.array([T0]), np.array([9.0]), device="pump-1", metric="flow"))
    store.write(points(np.array([T0]), np.array([8.0]), tenant="other"))
    store.write(points(np.array([T0 + 5000]), np.array([3.0]), device="pump-2"))  # past the end
    got = store.between("acme", T0, T0 + 5000, ["pressure"], limit=100)
    assert got.schema == POINT_SCHEMA
    assert list(zip(got["device"].to_pylist(), got["ts"].to_pylist(), strict=True)) == [
        ("pump-1", T0 + 1000),
        ("pump-2", T0),
        ("pump-2", T0 + 2000),
    ]
    assert set(got["metric"].to_pylist()) == {"pressure"}
    assert store.between("acme", T0, T0 + 5000, ["pressure", "flow"], limit=2).num_rows == 2
    assert store.between("acme", T0, T0 + 5000, [], limit=100).num_rows == 0


def test_strings_kept_apart_from_numbers(store: Store) -> None:
    batch = points(
        np.array([T0, T0 + 1000, T0 + 2000]),
        np.array([1.0, np.nan, 3.0]),
        text=[None, "RUNNING", None],
    )
    store.write(batch)
    got = raw(store)
    assert got.column("text").to_pylist() == [None, "RUNNING", None]
    assert got.column("value").to_pylist() == [1.0, None, 3.0]
    q = AggQuery(
        tenant="acme",
        device="pump-1",
        metrics=["pressure"],
        start_ms=T0,
        end_ms=T0 + 60_000,
        bucket_ms=60_000,
        fn="count",
    )
    assert store.aggregate(q).column("value").to_pylist() == [2.0]


def test_duplicates_are_stored_once_and_the_last_write_wins(store: Store) -> None:
    ts = np.array([T0, T0 + 1000, T0 + 1000, T0 + 2000])  # a duplicate inside the batch
    store.write(points(ts, np.array([1.0, 2.0, 2.5, 3.0])))
    store.write(points(np.array([T0 + 2000, T0 + 3000]), np.array([30.0, 4.0])))
    assert raw(store).column("value").to_pylist() == [1.0, 2.5, 30.0, 4.0]
    store.write(points(np.array([T0 + 3000]), np.array([40.0])))  # rewrite the newest point
    assert raw(store).column("value").to_pylist() == [1.0, 2.5, 30.0, 40.0]
    assert store.latest("acme").column("value").to_pylist() == [40.0]
    assert store.stats().points == 4
    q = AggQuery(
        tenant="acme",
        device="pump-1",
        metrics=["pressure"],
        start_ms=T0,
        end_ms=T0 + 60_000,
        bucket_ms=60_000,
        fn="sum",
    )
    assert store.aggregate(q).column("value").to_pylist() == [1.0 + 2.5 + 30.0 + 40.0]


def _reference(
    ts: np.ndarray, v: np.ndarray, start: int, end: int, bucket: int, fn: str
) -> dict[int, float]:
    keep = (ts >= start) & (ts < end) & ~np.isnan(v)
    ts, v = ts[keep], v[keep]
    out: dict[int, float] = {}
    for b in np.unique(ts - ts % bucket):
        sel = v[(ts - ts % bucket) == b]
        out[int(b)] = {
            "avg": sel.mean,
            "min": sel.min,
            "max": sel.max,
            "sum": sel.sum,
            "count": lambda s=sel: float(len(s)),
            "first": lambda s=sel: s[0],
            "last": lambda s=sel: s[-1],
        }[fn]()
    return out


@pytest.fixture
def three_hours(store: Store) -> tuple[Store, np.ndarray, np.ndarray]:
    """One series at 1 Hz for three hours (with gaps and strings), written in two batches."""
    rng = np.random.default_rng(7)
    ts = T0 + np.arange(3 * 3600) * 1000
    v = np.round(rng.normal(5.0, 1.0, len(ts)), 2)
    v[rng.random(len(ts)) < 0.02] = np.nan  # some points are strings, not numbers
    text = [None if not np.isnan(x) else "FAULT" for x in v]
    half = len(ts) // 2
    store.write(points(ts[:half], v[:half], text=text[:half]))
    store.write(points(ts[half:], v[half:], text=text[half:]))
    return store, ts, v


@pytest.mark.parametrize("bucket", [1_000, 10_000, 60_000, 300_000, 3_600_000, 86_400_000])
def test_aggregates_match_numpy_on_both_paths(
    three_hours: tuple[Store, np.ndarray, np.ndarray], bucket: int
) -> None:
    store, ts, v = three_hours
    start, end = T0 + 90_500, T0 + 3 * 3600_000 - 30_250  # unaligned: roll-ups plus raw edges
    if bucket == 1_000:
        start, end = T0 + 3_600_000, T0 + 3_700_000  # keep the per-second answer small
    for fn in AGG_FNS:
        expected = _reference(ts, v, start, end, bucket, fn)
        for rollups in (True, False):
            q = AggQuery(
                tenant="acme",
                device="pump-1",
                metrics=["pressure"],
                start_ms=start,
                end_ms=end,
                bucket_ms=bucket,
                fn=fn,
            )
            got = store.aggregate(q, rollups=rollups)
            assert set(got.column("metric").to_pylist()) == {"pressure"}
            buckets = got.column("bucket").to_pylist()
            assert buckets == sorted(expected), (fn, rollups)
            assert got.column("value").to_pylist() == pytest.approx(
                [expected[b] for b in buckets], rel=1e-9
            ), (fn, rollups)


def test_aggregate_several_metrics_and_unknown_ones(store: Store) -> None:
    ts = T0 + np.arange(120) * 1000
    store.write(points(ts, np.ones(120), metric="a"))
    store.write(points(ts, np.full(120, 2.0), metric="b"))
    q = AggQuery(
        tenant="acme",
        device="pump-1",
        metrics=["a", "b", "missing"],
        start_ms=T0,
        end_ms=T0 + 120_000,
        bucket_ms=60_000,
        fn="sum",
    )
    got = store.aggregate(q).to_pydict()
    assert got == {
        "bucket": [T0, T0, T0 + 60_000, T0 + 60_000],
        "metric": ["a", "b", "a", "b"],
        "value": [60.0, 120.0, 60.0, 120.0],
    }


def test_latest_is_the_newest_point_per_series(store: Store) -> None:
    store.write(points(np.array([T0 + 5000, T0]), np.array([5.0, 1.0]), metric="p"))
    store.write(points(np.array([T0 + 1000]), np.array([2.0]), metric="t", device="pump-2"))
    store.write(points(np.array([T0 + 2000]), np.array([np.nan]), metric="s", text=["ON"]))
    store.write(points(np.array([T0 - 1000]), np.array([0.5]), metric="p"))  # late and older
    store.write(points(np.array([T0]), np.array([9.0]), metric="p", tenant="other"))
    got = store.latest("acme").sort_by([("device", "ascending"), ("metric", "ascending")])
    assert got.to_pydict() == {
        "device": ["pump-1", "pump-1", "pump-2"],
        "metric": ["p", "s", "t"],
        "ts": [T0 + 5000, T0 + 2000, T0 + 1000],
        "value": [5.0, None, 2.0],
        "text": [None, "ON", None],
    }
    assert store.latest("acme", devices=["pump-2"]).column("metric").to_pylist() == ["t"]
    assert sorted(store.latest("acme", metrics=["p", "t"]).column("value").to_pylist()) == [
        2.0,
        5.0,
    ]
    assert store.latest("nobody").num_rows == 0


def test_paging_and_descending(store: Store) -> None:
    ts = T0 + np.arange(50) * 1000
    store.write(points(ts, np.arange(50, dtype=float)))
    assert raw(store, limit=10, offset=20).column("value").to_pylist() == list(
        map(float, range(20, 30))
    )
    desc = raw(store, limit=3, descending=True).column("ts").to_pylist()
    assert desc == [T0 + 49_000, T0 + 48_000, T0 + 47_000]
    assert raw(store, start_ms=T0 + 10_000, end_ms=T0 + 12_000).column("ts").to_pylist() == [
        T0 + 10_000,
        T0 + 11_000,
    ]  # end is exclusive
    assert raw(store, offset=100).num_rows == 0


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_reads_back(store: Store, fmt: str) -> None:
    ts = T0 + np.arange(2500) * 1000
    values = np.round(np.linspace(0, 10, 2500), 2)
    store.write(points(ts, values, text=[None] * 2499 + ["END"]))
    out = io.BytesIO()
    q = RawQuery(tenant="acme", device="pump-1", metric="pressure", start_ms=T0, end_ms=T0 + 10**9)
    assert store.export(q, fmt, out) == 2500  # type: ignore[arg-type]
    out.seek(0)
    table = pq.read_table(out) if fmt == "parquet" else pa_csv.read_csv(out)
    assert table.column("ts").to_pylist() == ts.tolist()
    assert table.column("value").to_pylist()[:-1] == pytest.approx(values[:-1].tolist())
    assert table.column("text").to_pylist()[-1] == "END"
    empty = io.BytesIO()
    assert (
        store.export(
            RawQuery(tenant="acme", device="nobody", metric="x", start_ms=0, end_ms=1), fmt, empty
        )
        == 0
    )  # type: ignore[arg-type]
    assert empty.getvalue()  # a header / a valid empty file, not nothing


def test_retention_removes_points_and_rollups(
    three_hours: tuple[Store, np.ndarray, np.ndarray],
) -> None:
    store, ts, v = three_hours
    store.write(points(np.array([T0]), np.array([1.0]), tenant="keep"))
    cut = T0 + 3600_000 + 30_500  # mid-minute: the straddling bucket must be recomputed
    removed = store.delete_before("acme", cut)
    assert removed == int((ts < cut).sum())
    assert raw(store, limit=1).column("ts").to_pylist() == [T0 + 3600_000 + 31_000]
    assert raw(store, tenant="keep").num_rows == 1
    for bucket in (60_000, 3_600_000):
        for fn in ("count", "sum", "first"):
            q = AggQuery(
                tenant="acme",
                device="pump-1",
                metrics=["pressure"],
                start_ms=T0,
                end_ms=T0 + 4 * 3600_000,
                bucket_ms=bucket,
                fn=fn,
            )
            expected = _reference(ts, v, cut, T0 + 4 * 3600_000, bucket, fn)
            got = store.aggregate(q)
            assert got.column("bucket").to_pylist() == sorted(expected)
            assert got.column("value").to_pylist() == pytest.approx(
                [expected[b] for b in sorted(expected)]
            )
    assert store.delete_before("acme", T0 + 10 * 3600_000) == len(ts) - removed
    assert store.latest("acme").num_rows == 0
    assert store.latest("keep").num_rows == 1


BAD_RAW = [
    ({"offset": -1}, "offset"),
    ({"limit": MAX_PAGE + 1}, "limit"),
    ({"limit": 0}, "limit"),
    ({"start_ms": T0, "end_ms": T0}, "before"),
    ({"start_ms": T0 + 1, "end_ms": T0}, "before"),
    ({"device": "x'; DROP TABLE points; --"}, "device id"),
    ({"metric": "p OR 1=1"}, "metric name"),
    ({"tenant": "Acme"}, "tenant id"),
]


@pytest.mark.parametrize(("change", "message"), BAD_RAW)
def test_bad_raw_queries_are_rejected(
    store: Store, change: dict[str, object], message: str
) -> None:
    store.write(points(np.array([T0]), np.array([1.0])))
    with pytest.raises(ValidationFailed, match=message):
        raw(store, **change)
    assert raw(store).num_rows == 1  # nothing was harmed


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bucket_ms": 500}, "bucket"),
        ({"bucket_ms": 86_400_001}, "bucket"),
        ({"bucket_ms": 1500}, "whole number"),
        ({"fn": "median"}, "fn"),
        ({"metrics": []}, "metrics"),
        ({"metrics": "pressure"}, "metrics"),
        ({"metrics": ["ok", "bad;name"]}, "metric name"),
        ({"end_ms": T0 - 1}, "before"),
    ],
)
def test_bad_aggregate_queries_are_rejected(
    store: Store, change: dict[str, object], message: str
) -> None:
    args: dict[str, object] = {
        "tenant": "acme",
        "device": "pump-1",
        "metrics": ["pressure"],
        "start_ms": T0,
        "end_ms": T0 + 60_000,
        "bucket_ms": 60_000,
    }
    args.update(change)
    with pytest.raises(ValidationFailed, match=message):
        store.aggregate(AggQuery(**args))  # type: ignore[arg-type]


def test_bad_batches_and_filters_are_rejected(store: Store) -> None:
    good = points(np.array([T0]), np.array([1.0]))
    with pytest.raises(ValidationFailed, match="columns"):
        store.write(good.drop_columns(["quality"]))
    nulls = good.set_column(3, "ts", pa.array([None], pa.int64()))
    with pytest.raises(ValidationFailed, match="'ts' has nulls"):
        store.write(nulls)
    with pytest.raises(ValidationFailed, match="device id"):
        store.latest("acme", devices=["../etc"])
    with pytest.raises(ValidationFailed, match="tenant id"):
        store.delete_before("bad tenant", T0)
    assert store.write(POINT_SCHEMA.empty_table()) == 0
    assert store.stats().points == 0


def test_data_survives_close_and_reopen(open_store: Callable[[], Store]) -> None:
    first = open_store()
    first.write(points(T0 + np.arange(100) * 1000, np.arange(100, dtype=float)))
    first.close()
    second = open_store()
    assert raw(second).num_rows == 100
    assert second.latest("acme").column("value").to_pylist() == [99.0]
    second.write(points(np.array([T0]), np.array([-1.0])))  # still idempotent after reopening
    assert raw(second).num_rows == 100
    assert raw(second, limit=1).column("value").to_pylist() == [-1.0]


def test_concurrent_writes_and_reads(store: Store) -> None:
    errors: list[BaseException] = []
    seen: list[int] = []

    def writer() -> None:
        try:
            for i in range(20):
                store.write(
                    points(T0 + np.arange(i * 100, (i + 1) * 100) * 1000, np.full(100, float(i)))
                )
        except BaseException as exc:
            errors.append(exc)

    def reader() -> None:
        try:
            for _ in range(20):
                seen.append(raw(store, limit=MAX_PAGE).num_rows)
                store.latest("acme")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(n % 100 == 0 for n in seen)  # a read sees whole batches, never half of one
    assert seen == sorted(seen)
    assert raw(store, limit=MAX_PAGE).num_rows == 2000


def test_open_store_follows_settings(settings: Settings, pg_url: str) -> None:
    store = open_configured(settings)
    try:
        assert isinstance(store, DuckDBStore)
        assert store.path == settings.telemetry_path
    finally:
        store.close()
    pg = open_configured(settings.model_copy(update={"telemetry_url": pg_url}))
    try:
        pg.write(batch_from_columns(["acme"], ["d"], ["m"], [T0], [1.0]))
        assert pg.stats().points == 1
    finally:
        pg.close()
    with pytest.raises(ValidationFailed, match="telemetry_url"):
        open_configured(settings.model_copy(update={"telemetry_url": "mysql://x"}))
