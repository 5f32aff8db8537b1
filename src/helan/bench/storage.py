"""``helan bench storage``: bytes per point on disk and write speed against a bare DuckDB append.

Signals look like the simulator's: pressures and temperatures at 0.01 resolution, power in
0.1 kW steps, integer counters, all at 1 Hz, arriving second by second in ingest-sized batches.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import duckdb
import numpy as np
import psycopg
import pyarrow as pa
import typer

from helan.core.points import POINT_SCHEMA
from helan.observe.report import report
from helan.storage.telemetry.duckdb.store import DuckDBStore
from helan.storage.telemetry.postgres.store import PostgresStore

T0 = 1_700_000_000_000
KINDS = ("pressure", "temperature", "power", "counter")


def signal_batches(
    series: int, seconds: int, batch_points: int, seed: int = 1, t0: int = T0
) -> Iterator[pa.Table]:
    """Batches of ``batch_points`` (whole seconds of every series), in time order."""
    rng = np.random.default_rng(seed)
    sid = np.arange(series)
    kind = sid % len(KINDS)
    devices = pa.array([f"dev-{i // len(KINDS):05d}" for i in sid])
    metrics = pa.array([KINDS[k] for k in kind])
    level = np.where(kind == 0, 5.0, np.where(kind == 1, 60.0, 50.0)) + rng.normal(0, 1, series)
    counter = np.zeros(series)
    per_batch = max(1, batch_points // series)
    for start in range(0, seconds, per_batch):
        secs = np.arange(start, min(seconds, start + per_batch))
        ts = np.repeat(t0 + secs * 1000, series)
        phase = np.tile(sid, len(secs)) + ts / 900_000.0
        k = np.tile(kind, len(secs))
        noise = rng.normal(0, 1, len(ts))
        base = np.tile(level, len(secs))
        steps = rng.integers(0, 3, (len(secs), series)).cumsum(axis=0) + counter
        counter = steps[-1]
        value = np.select(
            [k == 0, k == 1, k == 2],
            [
                np.round(base + 0.3 * np.sin(phase) + 0.02 * noise, 2),
                np.round(base + 2.0 * np.sin(phase / 4) + 0.01 * noise, 2),
                np.round(base + 5.0 * np.sin(phase) + 0.3 * noise, 1),
            ],
            steps.reshape(-1).astype(np.float64),
        )
        idx = pa.array(np.tile(sid, len(secs)))
        n = len(ts)
        yield pa.table(
            [
                pa.array(np.full(n, "acme", dtype=object), pa.string()),
                devices.take(idx),
                metrics.take(idx),
                pa.array(ts),
                pa.array(value),
                pa.nulls(n, pa.string()),
                pa.array(np.zeros(n, np.int8)),
            ],
            schema=POINT_SCHEMA,
        )


def run(
    series: Annotated[int, typer.Option(help="Series (device x metric).")] = 1000,
    hours: Annotated[float, typer.Option(help="Hours of 1 Hz data per series.")] = 4.0,
    batch: Annotated[int, typer.Option(help="Points per write call.")] = 50_000,
    trickle_minutes: Annotated[
        float,
        typer.Option(
            help="Minutes of the slow real-time trickle (0 skips it); each closed 1 h window "
            "is archived to Parquet 5 min after its end."
        ),
    ] = 250.0,
    pg_url: Annotated[str, typer.Option(help="PostgreSQL server URL; empty skips it.")] = (
        "postgresql://postgres@127.0.0.1:5432/postgres"
    ),
    pg_minutes: Annotated[
        float, typer.Option(help="Minutes of data for the PostgreSQL sample.")
    ] = 10.0,
) -> None:
    """Write speed against a bare DuckDB append, and on-disk bytes per point of all files."""
    seconds = int(hours * 3600)
    batches = list(signal_batches(series, seconds, batch))
    points = sum(b.num_rows for b in batches)
    work = Path(tempfile.mkdtemp(prefix="helan-bench-storage-"))
    try:
        figures: dict[str, object] = {"points": points, "series": series}
        figures.update(_bulk(work, batches, points))
        if trickle_minutes > 0:
            figures.update(_trickle(work, series, int(trickle_minutes * 60)))
        if pg_url:
            figures.update(_postgres(pg_url, series, int(pg_minutes * 60), batch))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(
        "storage: bytes per point and write speed",
        figures,
        {
            "write_ratio": "store.write / bare DuckDB Arrow append, interleaved batch by batch",
            "compact_points_per_s": f"every {COMPACT_ROWS:,} staged rows, as the compactor does",
            "bytes_per_point": "all store files (database, WAL, staging, archive), reopened; <= 2",
            "archive_bytes_per_point": "the Parquet files' bytes per archived point",
            "bare_bytes_per_point": "the bare append's DuckDB file (strings per row, unsorted)",
            "trickle_bytes_per_point": "1 Hz real time, one write per second, compacted every 30 s",
            "free_bytes_per_point": "part of bytes_per_point: free blocks that later data fills",
            "pg_bytes_per_point": "points partitions incl. primary key index",
        },
    )


COMPACT_ROWS = 2_000_000
ARCHIVE_WINDOW_MS = 3_600_000  # DuckDBStore's default


def _bulk(work: Path, batches: list[pa.Table], points: int) -> dict[str, object]:
    """Interleave bare appends and store writes batch by batch, so that both see the same
    machine load; compact like the compactor thread would, outside the write timing."""
    bare = duckdb.connect(str(work / "bare.duckdb"))
    bare.execute(
        "CREATE TABLE t (tenant VARCHAR, device VARCHAR, metric VARCHAR, ts BIGINT, "
        "value DOUBLE, text VARCHAR, quality TINYINT)"
    )
    store = DuckDBStore(work / "store.duckdb", compact_rows=1 << 62, compact_interval_s=1e9)
    bare_s = write_s = compact_s = 0.0
    for b in batches:
        t = time.perf_counter()
        bare.from_arrow(b).insert_into("t")
        t1 = time.perf_counter()
        store.write(b)
        t2 = time.perf_counter()
        bare_s, write_s = bare_s + t1 - t, write_s + t2 - t1
        if store.staging.rows >= COMPACT_ROWS:
            store.compact()
            store.archive_closed()
            compact_s += time.perf_counter() - t2
    t = time.perf_counter()
    store.compact()
    store.archive_closed()
    compact_s += time.perf_counter() - t
    assert store.stats().points == points
    bare.execute("CHECKPOINT")
    bare.close()
    store.close()
    reopened = DuckDBStore(work / "store.duckdb")  # what a restarted platform finds on disk
    disk, free, archive = _sizes(reopened)
    reopened.close()
    return {
        "write_points_per_s": round(points / write_s),
        "baseline_points_per_s": round(points / bare_s),
        "write_ratio": round(bare_s / write_s, 3),
        "compact_points_per_s": round(points / compact_s),
        "disk_bytes": disk,
        "bytes_per_point": round(disk / points, 3),
        "free_bytes_per_point": round(free / points, 3),
        **archive,
        "bare_bytes_per_point": round((work / "bare.duckdb").stat().st_size / points, 3),
    }


def _trickle(work: Path, series: int, seconds: int) -> dict[str, object]:
    """Real-time ingest: one batch per second of every series, a compaction (and the archive
    check) every 30 s, starting at an archive window boundary."""
    store = DuckDBStore(work / "trickle.duckdb", compact_rows=1 << 62, compact_interval_s=1e9)
    points, compactions, archived = 0, [], 0
    start = T0 - T0 % ARCHIVE_WINDOW_MS
    for i, b in enumerate(signal_batches(series, seconds, series, seed=3, t0=start)):
        store.write(b)
        points += b.num_rows
        if i % 30 == 29:
            t = time.perf_counter()
            store.compact()
            compactions.append(time.perf_counter() - t)
            archived += store.archive_closed()
    store.close()
    reopened = DuckDBStore(work / "trickle.duckdb")
    disk, free, archive = _sizes(reopened)
    reopened.close()
    return {
        "trickle_points": points,
        "trickle_compact_ms_p50": round(float(np.median(compactions)) * 1000, 1),
        "trickle_bytes_per_point": round(disk / points, 3),
        "trickle_free_bytes_per_point": round(free / points, 3),
        **{f"trickle_{k}": v for k, v in archive.items()},
    }


def _sizes(store: DuckDBStore) -> tuple[int, int, dict[str, object]]:
    """All bytes on disk, the free blocks inside the DuckDB file, and the archive's share."""
    archived = store.archive.rows()
    archive_bytes = store.archive.disk_bytes()
    return (
        store.disk_bytes(),
        store.free_bytes(),
        {
            "archived_points": archived,
            "archive_bytes_per_point": round(archive_bytes / archived, 3) if archived else 0.0,
            "database_bytes": store.disk_bytes() - archive_bytes,
        },
    )


def _postgres(admin_url: str, series: int, seconds: int, batch: int) -> dict[str, object]:
    name = f"helan_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        store = PostgresStore(f"{admin_url.rsplit('/', 1)[0]}/{name}")
        batches = list(signal_batches(series, seconds, batch, seed=2))
        points = sum(b.num_rows for b in batches)
        t = time.perf_counter()
        for b in batches:
            store.write(b)
        write_s = time.perf_counter() - t
        with psycopg.connect(f"{admin_url.rsplit('/', 1)[0]}/{name}", autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        size = store.points_bytes()
        store.close()
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {
        "pg_points": points,
        "pg_write_points_per_s": round(points / write_s),
        "pg_bytes_per_point": round(size / points, 3),
    }
