"""DuckDB backend only: the Parquet archive of closed windows (see duckdb/archive.py)."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from telemetry_helpers import T0, points

from helan.storage.telemetry.base import AggQuery, RawQuery
from helan.storage.telemetry.duckdb import shrink
from helan.storage.telemetry.duckdb.archive_files import encode
from helan.storage.telemetry.duckdb.store import DuckDBStore

HOUR = 3_600_000
WIDE = {"tenant": "acme", "device": "pump-1"}


def idle_store(path: Path) -> DuckDBStore:
    """1 h windows, 5 min grace; compaction and archiving only when the test asks."""
    return DuckDBStore(path, compact_rows=1 << 40, compact_interval_s=1e9, threads=1)


def raw(store: DuckDBStore, metric: str, lo: int, hi: int, **kw: object) -> pa.Table:
    q = RawQuery(**WIDE, metric=metric, start_ms=lo, end_ms=hi, limit=100_000, **kw)  # type: ignore[arg-type]
    return store.raw(q)


def hot_rows(store: DuckDBStore, lo: int, hi: int) -> int:
    with store._db.cursor() as cur:
        row = cur.execute("SELECT count(*) FROM points WHERE ts >= $1 AND ts < $2", [lo, hi])
        got = row.fetchone()
    return int(got[0]) if got else 0


def two_hours(store: DuckDBStore, value: float = 1.0) -> None:
    """Pressure at 0.01 resolution for 1 h 50 min: the first hour closes (5 min grace)."""
    ts = T0 + np.arange(6600) * 1000
    store.write(points(ts, np.round(value + np.sin(ts / 1e6), 2)))
    store.compact()


def test_closed_window_moves_to_parquet_losslessly(tmp_path: Path) -> None:
    store = idle_store(tmp_path / "t.duckdb")
    ts = T0 + np.arange(4200) * 1000
    rng = np.random.default_rng(1)
    series = {
        "pressure": np.round(5 + rng.normal(0, 1, 4200), 2),
        "noise": rng.normal(0, 1, 4200),  # full doubles: kept as doubles
        "count": np.arange(4200, dtype=float) * 3,
        "odd": np.r_[-0.0, np.nan, np.inf, 1e300, 0.1, np.full(4195, 2.5)],
    }
    for metric, values in series.items():
        store.write(points(ts, values, metric=metric))
    state = [None] * 4199 + ["on"]
    store.write(points(ts, np.full(4200, np.nan), metric="state", text=state))
    store.compact()
    before = {m: raw(store, m, T0, T0 + 2 * HOUR) for m in [*series, "state"]}
    assert store.archive_closed() == 5 * 3600  # the first hour of every series
    assert store.archive_closed() == 0
    assert hot_rows(store, T0, T0 + HOUR) == 0
    (file,) = (tmp_path / "t.duckdb.archive" / "acme").iterdir()
    assert file.name == f"{T0}-{T0 + HOUR}.parquet"
    stored = pq.read_table(file)
    assert stored.num_rows == 5 * 3600
    exps = dict(
        zip(stored.column("series").to_pylist(), stored.column("exp").to_pylist(), strict=True)
    )
    assert sorted(exps.values(), key=str) == [0, 0, 2, None, None]  # count, state, pressure
    for metric, table in before.items():
        after = raw(store, metric, T0, T0 + 2 * HOUR)
        assert after.equals(table), metric  # bit for bit, NaN/inf/-0.0 included
    assert np.signbit(raw(store, "odd", T0, T0 + 1000).column("value")[0].as_py())
    assert store.stats().points == 5 * 4200
    store.close()
    reopened = idle_store(tmp_path / "t.duckdb")
    assert raw(reopened, "noise", T0, T0 + 2 * HOUR).equals(before["noise"])
    reopened.close()


def test_encode_picks_the_decimals_per_series() -> None:
    rows = pa.table(
        {
            "series": pa.array([1, 1, 2, 2, 3], pa.int32()),
            "ts": pa.array([1, 2, 1, 2, 1], pa.int64()),
            "value": pa.array([0.5, 1.25, 3.0, None, 0.1 + 0.2]),
            "text": pa.array([None, None, None, "x", None], pa.string()),
            "quality": pa.array([0] * 5, pa.int8()),
        }
    )
    out = encode(rows)
    assert out.column("exp").to_pylist() == [2, 2, 0, 0, None]
    assert out.column("mant").to_pylist() == [50, 125, 3, None, None]
    assert out.column("value").to_pylist() == [None, None, None, None, 0.1 + 0.2]


def test_queries_read_across_the_archive_boundary(tmp_path: Path) -> None:
    store = idle_store(tmp_path / "t.duckdb")
    two_hours(store)
    everything = raw(store, "pressure", T0, T0 + 3 * HOUR)
    q = AggQuery(
        **WIDE, metrics=["pressure"], start_ms=T0 + 1_234_000, end_ms=T0 + 7_000_000,
        bucket_ms=HOUR, fn="avg",
    )  # fmt: skip
    aggs = {fn: store.aggregate(replace(q, fn=fn)) for fn in ("avg", "first")}
    assert store.archive_closed() == 3600
    span = raw(store, "pressure", T0 + 3_590_000, T0 + 3_610_000)
    assert span.column("ts").to_pylist() == list(range(T0 + 3_590_000, T0 + 3_610_000, 1000))
    assert raw(store, "pressure", T0, T0 + 3 * HOUR).equals(everything)
    page = raw(store, "pressure", T0, T0 + 3 * HOUR, descending=True, offset=2990)
    assert page.column("ts").to_pylist()[:2] == [T0 + 3_609_000, T0 + 3_608_000]
    for fn, expected in aggs.items():
        got = store.aggregate(replace(q, fn=fn))
        assert got.equals(expected)
        from_raw = store.aggregate(replace(q, fn=fn), rollups=False)  # other summation order
        assert got.column("bucket").equals(from_raw.column("bucket"))
        np.testing.assert_allclose(got.column("value"), from_raw.column("value"), rtol=1e-12)
    out = io.BytesIO()
    export_q = RawQuery(**WIDE, metric="pressure", start_ms=T0, end_ms=T0 + 3 * HOUR)
    assert store.export(export_q, "parquet", out) == 6600
    assert pq.read_table(io.BytesIO(out.getvalue())).column("ts").equals(everything.column("ts"))
    store.close()


def test_late_rewrites_into_an_archived_window_rewrite_its_file(tmp_path: Path) -> None:
    store = idle_store(tmp_path / "t.duckdb")
    two_hours(store)
    store.archive_closed()
    hour = AggQuery(
        **WIDE, metrics=["pressure"], start_ms=T0, end_ms=T0 + HOUR, bucket_ms=HOUR, fn="sum"
    )
    before = store.aggregate(hour).column("value")[0].as_py()
    old = raw(store, "pressure", T0 + 10_000, T0 + 10_001).column("value")[0].as_py()
    late = points(np.array([T0 + 10_000, T0 + 10_500]), np.array([100.0, 7.0]))
    store.write(late)
    store.write(points(np.array([T0 + 10_000]), np.array([200.0])))  # the newest write wins
    store.compact()
    assert hot_rows(store, T0, T0 + HOUR) == 0  # went to the file, not to DuckDB
    got = raw(store, "pressure", T0 + 10_000, T0 + 11_000)
    assert got.column("ts").to_pylist() == [T0 + 10_000, T0 + 10_500]
    assert got.column("value").to_pylist() == [200.0, 7.0]
    assert store.stats().points == 6601
    after = store.aggregate(hour).column("value")[0].as_py()
    assert after == before - old + 200.0 + 7.0
    assert store.latest("acme").column("ts").to_pylist() == [T0 + 6_599_000]
    store.close()


def test_retention_drops_whole_files_and_rewrites_the_straddling_one(tmp_path: Path) -> None:
    store = idle_store(tmp_path / "t.duckdb")
    t0 = T0 + 2 * HOUR  # a UTC midnight: no day closes, so no day is merged
    ts = t0 + np.arange(3 * 3600 + 600) * 1000
    store.write(points(ts, np.ones(len(ts))))
    store.write(points(ts, np.ones(len(ts)), tenant="other"))
    store.compact()
    assert store.archive_closed() == 2 * 3 * 3600
    archive = tmp_path / "t.duckdb.archive"
    assert len(list((archive / "acme").iterdir())) == 3
    cut = t0 + HOUR + 1_800_000  # half way through the second hour
    assert store.delete_before("acme", cut) == 5400
    names = sorted(p.name for p in (archive / "acme").iterdir())
    assert names == [f"{t0 + h * HOUR}-{t0 + (h + 1) * HOUR}.parquet" for h in (1, 2)]
    assert len(list((archive / "other").iterdir())) == 3
    left = raw(store, "pressure", t0, t0 + 4 * HOUR)
    assert left.num_rows == len(ts) - 5400
    assert left.column("ts")[0].as_py() == cut
    q = AggQuery(**WIDE, metrics=["pressure"], start_ms=t0, end_ms=t0 + 4 * HOUR, bucket_ms=HOUR,
                 fn="count")  # fmt: skip
    assert store.aggregate(q).column("value").to_pylist() == [1800.0, 3600.0, 600.0]
    assert store.delete_before("acme", cut) == 0  # idempotent
    assert store.delete_before("acme", t0 + 5 * HOUR) == len(ts) - 5400
    assert not list((archive / "acme").iterdir())
    assert store.stats().points == len(ts)  # the other tenant's
    store.close()


def test_a_crash_between_the_file_rename_and_the_delete_duplicates_nothing(
    tmp_path: Path,
) -> None:
    """SIGKILL right after the window's file got its final name, before DuckDB deleted the rows:
    the reopened store finds the window in both places and keeps the file."""
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        from pathlib import Path
        import numpy as np
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from telemetry_helpers import T0, points
        from helan.storage.telemetry.duckdb import archive_files
        from helan.storage.telemetry.duckdb.store import DuckDBStore
        store = DuckDBStore(Path(sys.argv[1]), compact_rows=1 << 40, compact_interval_s=1e9)
        ts = T0 + np.arange(6600) * 1000
        store.write(points(ts, np.round(np.sin(ts / 1e6), 2)))
        store.compact()
        write = archive_files.ArchiveFiles.write
        def crash(*args):
            write(*args)
            print("renamed", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        archive_files.ArchiveFiles.write = crash
        store.archive_closed()
        """
    )
    path = tmp_path / "t.duckdb"
    proc = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert proc.stdout.strip() == "renamed"
    store = idle_store(path)
    assert (tmp_path / "t.duckdb.archive" / "acme" / f"{T0}-{T0 + HOUR}.parquet").exists()
    assert hot_rows(store, T0, T0 + HOUR) == 0  # reconciled at open
    got = raw(store, "pressure", T0, T0 + 3 * HOUR)
    assert got.column("ts").to_pylist() == list(range(T0, T0 + 6_600_000, 1000))
    assert store.stats().points == 6600
    assert store.archive_closed() == 0
    store.close()


def test_an_unfinished_archive_file_is_removed_at_open(tmp_path: Path) -> None:
    store = idle_store(tmp_path / "t.duckdb")
    two_hours(store)
    store.close()
    folder = tmp_path / "t.duckdb.archive" / "acme"
    folder.mkdir(parents=True)
    (folder / f"{T0}-{T0 + HOUR}.parquet.tmp").write_bytes(b"PAR1 half")
    store = idle_store(tmp_path / "t.duckdb")
    assert list(folder.iterdir()) == []
    assert store.archive_closed() == 3600  # the rows never left DuckDB
    assert store.stats().points == 6600
    store.close()


def test_archiving_gives_the_freed_blocks_back_by_copying_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shrink, "MIN_FREE_BYTES", 0)  # this test's file is only 3.5 MB
    path = tmp_path / "t.duckdb"
    store = idle_store(path)
    ts = T0 + np.arange(3 * 3600 + 600) * 1000
    metrics = [f"m{i}" for i in range(40)]
    for metric in metrics:
        store.write(points(ts, np.round(np.sin(ts / 1e5) * 1e3 + ts % 7, 3), metric=metric))
    store.compact()
    latest = store.latest("acme").sort_by("metric")
    full = path.stat().st_size
    assert store.archive_closed() == 40 * 3 * 3600
    assert path.stat().st_size < full * 0.7  # copied: the three archived hours' blocks are gone
    assert not path.with_name("t.duckdb.new").exists()
    assert not path.with_name("t.duckdb.new.wal").exists()
    assert store.free_bytes() == 0
    assert store.latest("acme").sort_by("metric").equals(latest)
    store.write(points(np.array([T0 + 3 * HOUR + 601_000]), np.array([1.5]), metric="e"))
    assert raw(store, "e", T0, T0 + 4 * HOUR).column("value").to_pylist() == [1.5]
    assert raw(store, "m0", T0, T0 + 4 * HOUR).num_rows == len(ts)
    assert store.stats().points == 40 * len(ts) + 1
    store.close()
    path.with_name("t.duckdb.new").write_bytes(b"a copy cut short")
    reopened = idle_store(path)
    assert not path.with_name("t.duckdb.new").exists()
    assert reopened.stats().points == 40 * len(ts) + 1
    reopened.close()


def test_closed_days_are_merged_into_one_file_and_read_the_same(tmp_path: Path) -> None:
    day0 = T0 + 2 * HOUR  # T0 is 22:00 UTC: day0 is a UTC midnight
    assert day0 % (24 * HOUR) == 0
    store = idle_store(tmp_path / "t.duckdb")
    ts = day0 - 2 * HOUR + np.arange(0, 28 * HOUR, 60_000)  # 22:00 the day before .. 02:00
    first, end = int(ts[0]), int(ts[-1]) + 1
    values = np.round(np.sin(ts / 1e7) * 10, 1)
    store.write(points(ts, values))
    store.write(points(ts, values + 1, device="pump-2"))
    store.compact()
    before = raw(store, "pressure", first, end)
    assert store.archive_closed() > 0
    files = sorted((f.start, f.end) for f in store.archive.overlapping("acme", 0, 1 << 62))
    assert (day0, day0 + 24 * HOUR) in files  # the closed day: one file
    assert not [f for f in files if day0 < f[0] < day0 + 24 * HOUR]  # none of its hours
    assert (day0 - 24 * HOUR, day0) in files  # the day before, closed too: its 2 hours merged
    assert (day0 + 24 * HOUR, day0 + 25 * HOUR) in files  # an open day keeps its hour files
    assert raw(store, "pressure", first, end).equals(before)
    two = RawQuery(
        tenant="acme", device="pump-2", metric="pressure", start_ms=day0, end_ms=day0 + HOUR
    )
    assert store.raw(two).column("value").to_pylist()[:2] == list(values[120:122] + 1)

    late = points(np.array([day0 + 5 * HOUR + 1]), np.array([99.5]))  # into the merged day
    store.write(late)
    store.compact()
    assert hot_rows(store, day0, day0 + 24 * HOUR) == 0
    assert raw(store, "pressure", day0 + 5 * HOUR, day0 + 5 * HOUR + 2).column(
        "value"
    ).to_pylist() == [
        values[7 * 60],
        99.5,
    ]
    store.close()

    # A crash after the merged file's rename, before the merged files' deletes: they are back.
    merged = next(f for f in store.archive.overlapping("acme", day0, day0 + 1) if f.start == day0)
    leftover = merged.path.with_name(f"{day0 + HOUR}-{day0 + 2 * HOUR}.parquet")
    pq.write_table(pq.read_table(merged.path).slice(0, 10), leftover)
    again = idle_store(tmp_path / "t.duckdb")
    assert not leftover.exists()
    got = raw(again, "pressure", first, end)
    assert got.num_rows == before.num_rows + 1  # the late row; nothing twice
    again.close()
