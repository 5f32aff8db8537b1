"""DuckDB backend only: staged segments, crash safety and the on-disk size they leave."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from telemetry_helpers import T0, points

from helan.core.errors import StorageUnavailable
from helan.storage.telemetry.base import AggQuery, RawQuery
from helan.storage.telemetry.duckdb.store import DuckDBStore

WIDE = {"tenant": "acme", "device": "pump-1", "metric": "pressure"}


def all_points(store: DuckDBStore) -> list[tuple[int, float]]:
    got = store.raw(RawQuery(**WIDE, start_ms=T0 - 10**9, end_ms=T0 + 10**9, limit=100_000))
    return list(zip(got.column("ts").to_pylist(), got.column("value").to_pylist(), strict=True))


def hourly_sum(store: DuckDBStore) -> list[float]:
    q = AggQuery(
        tenant="acme",
        device="pump-1",
        metrics=["pressure"],
        start_ms=T0,
        end_ms=T0 + 7_200_000,
        bucket_ms=3_600_000,
        fn="sum",
    )
    return store.aggregate(q).column("value").to_pylist()


def idle_store(path: Path) -> DuckDBStore:
    """A store whose compactor never runs on its own, so tests choose when segments move."""
    return DuckDBStore(path, compact_rows=1 << 40, compact_interval_s=1e9)


def test_writes_are_staged_outside_the_database_and_removed_by_compaction(
    tmp_path: Path,
) -> None:
    store = idle_store(tmp_path / "t.duckdb")
    db_before = (tmp_path / "t.duckdb").stat().st_size
    store.write(points(T0 + np.arange(1000) * 1000, np.arange(1000, dtype=float)))
    store.write(points(T0 + np.arange(1000, 2000) * 1000, np.arange(1000, dtype=float)))
    staged = sorted(p.name for p in store.staging.directory.iterdir())
    assert staged == [f"{1:020d}.arrow", f"{1001:020d}.arrow"]  # first seq of each batch
    assert (tmp_path / "t.duckdb").stat().st_size == db_before
    assert store.compact() == 2000
    assert list(store.staging.directory.iterdir()) == []
    assert store.staging.rows == 0
    assert len(all_points(store)) == 2000
    store.close()


def test_a_killed_writer_loses_nothing_it_acknowledged(tmp_path: Path) -> None:
    """SIGKILL right after ``write`` returned: the segments are replayed when the store reopens,
    and the rewrite in the second batch still wins over the first."""
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        import numpy as np
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from telemetry_helpers import T0, points
        from helan.storage.telemetry.duckdb.store import DuckDBStore
        store = DuckDBStore(Path(sys.argv[1]), compact_rows=1 << 40, compact_interval_s=1e9)
        store.write(points(T0 + np.arange(5000) * 1000, np.full(5000, 1.0)))
        store.compact()
        store.write(points(T0 + np.arange(4000, 6000) * 1000, np.full(2000, 2.0)))
        store.write(points(np.array([T0 + 5999_000]), np.array([3.0])))
        print("written", flush=True)
        time.sleep(60)
        """
    )
    path = tmp_path / "t.duckdb"
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "written"
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        proc.kill()
        if proc.stdout is not None:
            proc.stdout.close()
    store = idle_store(path)
    assert store.staging.rows == 2001  # both uncompacted batches survived as segments
    got = all_points(store)
    assert len(got) == 6000
    assert [v for _, v in got] == [1.0] * 4000 + [2.0] * 1999 + [3.0]
    assert hourly_sum(store) == [3600.0, 400 * 1.0 + 1999 * 2.0 + 3.0]
    assert store.latest("acme").column("value").to_pylist() == [3.0]
    store.close()


def test_replaying_already_compacted_segments_duplicates_nothing(tmp_path: Path) -> None:
    """A crash after the compaction committed but before its segments were deleted."""
    path = tmp_path / "t.duckdb"
    store = idle_store(path)
    store.write(points(T0 + np.arange(3000) * 1000, np.full(3000, 1.0)))
    store.write(points(T0 + np.arange(2000, 3000) * 1000, np.full(1000, 5.0)))  # rewrites
    saved = tmp_path / "saved"
    shutil.copytree(store.staging.directory, saved)
    store.compact()
    expected, sums = all_points(store), hourly_sum(store)
    store.close()
    for segment in saved.iterdir():  # the segments come back, as if never deleted
        shutil.copy(segment, path.with_name(path.name + ".staging") / segment.name)
    again = idle_store(path)
    assert again.staging.rows == 4000
    assert all_points(again) == expected
    assert hourly_sum(again) == sums == [2000.0 + 5000.0]
    assert again.stats().points == 3000
    again.close()


def test_unfinished_and_damaged_segments_at_open(tmp_path: Path) -> None:
    path = tmp_path / "t.duckdb"
    idle_store(path).close()
    staging = path.with_name(path.name + ".staging")
    (staging / f"{7:020d}.arrow.tmp").write_bytes(b"half a batch")  # write never returned
    store = idle_store(path)
    assert list(staging.iterdir()) == []
    store.close()
    (staging / f"{7:020d}.arrow").write_bytes(b"ARROW1 not really")  # acknowledged, then damaged
    with pytest.raises(StorageUnavailable, match="unreadable"):
        idle_store(path)
