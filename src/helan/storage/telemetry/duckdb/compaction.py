"""Move staged rows (Arrow segments, see :mod:`.segments`) into the tables in one transaction.

New series are registered first in their own short transaction (an archive file rewritten before
the main commit must only name committed series ids). The points, the dedupe, the roll-up and
``latest`` updates then commit together; the caller deletes the segments after the commit. A
crash in between replays them at the next compaction, which rewrites the same values (the same
keys, and the last write of each key wins again). Rows for an archived window go to its Parquet
file instead of ``points`` (:func:`.archive.absorb_late`).
"""

# ruff: noqa: S608 - SQL text is built only from this package's constants and int() values;
# every value that comes from a caller is bound as a parameter.
from __future__ import annotations

import duckdb
import pyarrow as pa

from helan.storage.telemetry.duckdb.archive import absorb_late, source_sql
from helan.storage.telemetry.duckdb.archive_files import ArchiveFiles
from helan.storage.telemetry.duckdb.schema import PARTIAL_COLUMNS, floor_sql
from helan.storage.telemetry.query import HOUR_MS, MINUTE_MS

_MINUTE = floor_sql("ts", MINUTE_MS)
_HOUR = floor_sql("bucket", HOUR_MS)


def compact(cur: duckdb.DuckDBPyConnection, staging: pa.Table, archive: ArchiveFiles) -> None:
    """Compact ``staging`` (POINT_SCHEMA plus ``seq``) into the tables and ``archive``."""
    if staging.num_rows == 0:
        return
    cur.register("staging", staging)
    try:
        cur.execute(
            "INSERT INTO series SELECT nextval('series_id'), tenant, device, metric FROM "
            "(SELECT DISTINCT tenant, device, metric FROM staging) AS h "
            "ANTI JOIN series AS s USING (tenant, device, metric)"
        )
        cur.execute("BEGIN TRANSACTION")
        try:
            _compact(cur, archive)
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")
    finally:
        cur.unregister("staging")


def _compact(cur: duckdb.DuckDBPyConnection, archive: ArchiveFiles) -> None:
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE staged AS SELECT s.id AS series, h.ts, h.value, h.text, "
        "h.quality, h.seq FROM staging AS h JOIN series AS s USING (tenant, device, metric)"
    )
    _drop_duplicates(cur)
    lo, hi = cur.execute("SELECT min(ts), max(ts) FROM staged").fetchone() or (0, 0)
    cur.execute(
        f"CREATE OR REPLACE TEMP TABLE touched AS SELECT DISTINCT series, {_MINUTE} AS bucket "
        "FROM staged"
    )
    rewrites = _rewrites(cur)  # before ``latest`` advances past the staged rows
    _advance_latest(cur)
    absorb_late(cur, archive)
    if rewrites:
        cur.execute(
            "DELETE FROM points USING staged WHERE points.series = staged.series "
            "AND points.ts = staged.ts AND points.ts BETWEEN $1 AND $2",
            [lo, hi],
        )
    cur.execute(
        "INSERT INTO points SELECT series, ts, value, text, quality FROM staged ORDER BY series, ts"
    )
    rlo, rhi = lo - lo % MINUTE_MS - MINUTE_MS, hi + MINUTE_MS
    recompute_rollups(cur, "touched", rlo, rhi, source_sql(archive.overlapping(None, rlo, rhi)))
    cur.execute("DROP TABLE touched")
    cur.execute("DROP TABLE staged")


def _rewrites(cur: duckdb.DuckDBPyConnection) -> bool:
    """Whether any staged point may already be stored: only then is ``points`` searched.

    In real-time ingest every series moves forward, so its staged points are all newer than its
    ``latest`` row and the delete (a scan, and holes in the table if it hit) is skipped.
    """
    row = cur.execute(
        "SELECT count(*) FROM (SELECT series, min(ts) AS lo FROM staged GROUP BY series) AS s "
        "JOIN latest AS l USING (series) WHERE s.lo <= l.ts"
    ).fetchone()
    return bool(row and row[0])


def _advance_latest(cur: duckdb.DuckDBPyConnection) -> None:
    """Replace each touched series' latest row when the staged newest point is at least as new.

    Delete-then-insert rather than an upsert: in DuckDB 2.0 an ON CONFLICT update on another
    cursor leaves a transaction that blocks every later checkpoint.
    """
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE newest AS SELECT n.series, s.tenant, s.device, s.metric, "
        "n.ts, n.value, n.text, n.quality FROM (SELECT * FROM staged QUALIFY row_number() OVER "
        "(PARTITION BY series ORDER BY ts DESC) = 1) AS n JOIN series AS s ON s.id = n.series"
    )
    cur.execute(
        "DELETE FROM latest USING newest WHERE latest.series = newest.series "
        "AND newest.ts >= latest.ts"
    )
    cur.execute("INSERT INTO latest SELECT * FROM newest ANTI JOIN latest USING (series)")
    cur.execute("DROP TABLE newest")


def _drop_duplicates(cur: duckdb.DuckDBPyConnection) -> None:
    """Keep the latest write of each (series, ts); the check is far cheaper than the dedupe."""
    dup = cur.execute("SELECT count(*) - count(DISTINCT (series, ts)) FROM staged").fetchone()
    if dup and dup[0]:
        cur.execute(
            "DELETE FROM staged WHERE rowid IN (SELECT rowid FROM staged QUALIFY row_number() "
            "OVER (PARTITION BY series, ts ORDER BY seq DESC) > 1)"
        )


def recompute_rollups(
    cur: duckdb.DuckDBPyConnection, touched: str, lo: int, hi: int, points: str
) -> None:
    """Rebuild the roll-up rows of the (series, minute bucket) pairs in table ``touched`` from
    the relation ``points`` (see :func:`.archive.source_sql`); ``lo``..``hi`` bound their time
    range so that zone maps skip the rest of it."""
    cur.execute(
        f"DELETE FROM rollup_1m USING {touched} AS t WHERE rollup_1m.series = t.series "
        "AND rollup_1m.bucket = t.bucket AND rollup_1m.bucket BETWEEN $1 AND $2",
        [lo, hi],
    )
    cur.execute(
        f"INSERT INTO rollup_1m SELECT series, {_MINUTE} AS bucket, {PARTIAL_COLUMNS} "
        f"FROM {points} AS p SEMI JOIN {touched} AS t ON p.series = t.series "
        f"AND {floor_sql('p.ts', MINUTE_MS)} = t.bucket "
        "WHERE ts BETWEEN $1 AND $2 AND value IS NOT NULL GROUP BY ALL ORDER BY series, bucket",
        [lo, hi],
    )
    cur.execute(
        f"CREATE OR REPLACE TEMP TABLE touched_h AS SELECT DISTINCT series, {_HOUR} AS bucket "
        f"FROM {touched}"
    )
    hlo, hhi = lo - lo % HOUR_MS - HOUR_MS, hi + HOUR_MS
    cur.execute(
        "DELETE FROM rollup_1h USING touched_h AS t WHERE rollup_1h.series = t.series "
        "AND rollup_1h.bucket = t.bucket AND rollup_1h.bucket BETWEEN $1 AND $2",
        [hlo, hhi],
    )
    cur.execute(
        f"INSERT INTO rollup_1h SELECT series, {_HOUR} AS hb, sum(cnt), sum(sum), min(min), "
        "max(max), arg_min(first, bucket), arg_max(last, bucket) FROM rollup_1m "
        "SEMI JOIN touched_h AS t ON rollup_1m.series = t.series "
        f"AND {floor_sql('rollup_1m.bucket', HOUR_MS)} = t.bucket "
        "WHERE bucket BETWEEN $1 AND $2 GROUP BY ALL ORDER BY series, hb",
        [hlo, hhi],
    )
    cur.execute("DROP TABLE touched_h")
