"""``helan bench query``: chart and latest-value latency on a store of >= 80 M points.

The store is filled by DuckDB's bulk path (``INSERT ... SELECT`` from ``range()``, already in
(series, ts) order, roll-ups and ``latest`` built with the same SQL shapes compaction uses),
not through ``write``: ``helan bench storage`` measures writing. Then the store archives the
closed hours to Parquet, as its compactor would (the last hour stays in DuckDB), so the raw
baseline reads the archive. Queries go through the store.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Annotated

import duckdb
import numpy as np
import typer

from helan.observe.report import report
from helan.storage.telemetry.base import AggQuery
from helan.storage.telemetry.duckdb.store import DuckDBStore

T0 = 1_699_920_000_000  # a UTC midnight
DAY_S = 86_400
METRICS = ("pressure", "temperature", "power", "flow", "state")


def _fill(path: Path, points: int, devices: int) -> tuple[int, int]:
    """Day-long 1 Hz series for as many series as ``points`` needs; every other series gets
    its last minute. Returns (points stored, day-long series)."""
    series = devices * len(METRICS)
    day_series = min(series, max(1, -(-(points - series * 60) // DAY_S)))
    con = duckdb.connect(str(path))
    con.execute(
        "INSERT INTO series SELECT d * $2 + m + 1, 'acme', printf('dev-%05d', d), "
        "($3::VARCHAR[])[m + 1] FROM range($1) r(d), range($2) q(m)",
        [devices, len(METRICS), list(METRICS)],
    )
    con.execute(
        "INSERT INTO points SELECT s + 1, $2 + i * 1000, "
        "round(50 + 10 * sin(i / 600.0 + s) + (hash(s, i) % 100) / 100.0, 2), NULL, 0 "
        "FROM range($1) a(s), range($3) b(i)",
        [day_series, T0, DAY_S],
    )
    con.execute(
        "INSERT INTO points SELECT s + 1, $2 + i * 1000, round(20 + s % 7 + i / 100.0, 2), NULL, 0 "
        "FROM range($1, $3) a(s), range($4, $5) b(i)",
        [day_series, T0, series, DAY_S - 60, DAY_S],
    )
    con.execute(
        "INSERT INTO rollup_1m SELECT series, ts - ts % 60000 AS b, count(value), sum(value), "
        "min(value), max(value), arg_min(value, ts), arg_max(value, ts) FROM points "
        "GROUP BY ALL ORDER BY series, b"
    )
    con.execute(
        "INSERT INTO rollup_1h SELECT series, bucket - bucket % 3600000 AS b, sum(cnt), sum(sum), "
        "min(min), max(max), arg_min(first, bucket), arg_max(last, bucket) FROM rollup_1m "
        "GROUP BY ALL ORDER BY series, b"
    )
    con.execute(
        "INSERT INTO latest SELECT p.series, s.tenant, s.device, s.metric, p.ts, p.value, p.text, "
        "p.quality FROM points p JOIN series s ON s.id = p.series WHERE p.ts = $1",
        [T0 + (DAY_S - 1) * 1000],
    )
    con.execute("DROP SEQUENCE series_id")  # the next series id follows the bulk-made ones
    con.execute(f"CREATE SEQUENCE series_id START {series + 1}")
    con.execute("CHECKPOINT")
    row = con.execute("SELECT count(*) FROM points").fetchone()
    con.close()
    return (int(row[0]) if row else 0), day_series


def _ms(samples: list[float]) -> tuple[float, float]:
    arr = np.array(samples) * 1000
    return round(float(np.percentile(arr, 50)), 2), round(float(np.percentile(arr, 99)), 2)


def run(
    points: Annotated[
        int, typer.Option(help="Points in the store (>= 80 M reproduces the target).")
    ] = 80_000_000,
    devices: Annotated[
        int, typer.Option(help="Devices (5 metrics each) for the latest query.")
    ] = 10_000,
    repeats: Annotated[int, typer.Option(help="Timed queries per figure.")] = 200,
) -> None:
    """1-minute averages over a day of one series, and latest values of every device."""
    work = Path(tempfile.mkdtemp(prefix="helan-bench-query-"))
    try:
        DuckDBStore(work / "q.duckdb").close()  # creates the schema
        t = time.perf_counter()
        stored, day_series = _fill(work / "q.duckdb", points, devices)
        fill_s = time.perf_counter() - t
        store = DuckDBStore(work / "q.duckdb")
        t = time.perf_counter()
        archived = store.archive_closed()
        archive_s = time.perf_counter() - t
        rng = random.Random(1)

        def agg(rollups: bool) -> float:
            sid = rng.randrange(day_series)
            q = AggQuery(
                tenant="acme",
                device=f"dev-{sid // len(METRICS):05d}",
                metrics=[METRICS[sid % len(METRICS)]],
                start_ms=T0,
                end_ms=T0 + DAY_S * 1000,
                bucket_ms=60_000,
                fn="avg",
            )
            t0 = time.perf_counter()
            rows = store.aggregate(q, rollups=rollups).num_rows
            elapsed = time.perf_counter() - t0
            assert rows == 1440, rows
            return elapsed

        def latest() -> float:
            t0 = time.perf_counter()
            rows = store.latest("acme").num_rows
            elapsed = time.perf_counter() - t0
            assert rows == devices * len(METRICS), rows
            return elapsed

        for _ in range(5):
            agg(True), latest()
        agg_p50, agg_p99 = _ms([agg(True) for _ in range(repeats)])
        raw_p50, raw_p99 = _ms([agg(False) for _ in range(max(10, repeats // 10))])
        latest_p50, latest_p99 = _ms([latest() for _ in range(repeats)])
        disk = store.stats().disk_bytes
        store.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(
        "query: chart and latest latency",
        {
            "points_in_store": stored,
            "fill_s": round(fill_s, 1),
            "archived_points": archived,
            "archive_s": round(archive_s, 1),
            "disk_bytes": disk,
            "agg_p50_ms": agg_p50,
            "agg_p99_ms": agg_p99,
            "agg_raw_p50_ms": raw_p50,
            "agg_raw_p99_ms": raw_p99,
            "latest_series": devices * len(METRICS),
            "latest_p50_ms": latest_p50,
            "latest_p99_ms": latest_p99,
        },
        {
            "agg_p99_ms": "1-min avg over 1 day of one 1 Hz series, roll-ups (target <= 50)",
            "agg_raw_p50_ms": "baseline: same query from raw points (Parquet archive + DuckDB)",
            "archive_s": "closed hours moved from DuckDB to Parquet files",
            "latest_p99_ms": f"all metrics of {devices:,} devices (target <= 20)",
            "fill_s": "bulk fill with DuckDB SQL, not through write()",
        },
    )
