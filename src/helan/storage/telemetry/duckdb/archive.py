"""Move closed windows of ``points`` into Parquet files (:mod:`.archive_files`) and keep one
invariant: every (series, ts) key lives in exactly one place, the DuckDB table or the file of its
(tenant, window). Reads are then a plain UNION ALL, with no dedupe.

- A closed window (its end plus a grace, 5 min by default, at or before the newest compacted
  point) is written to its file, then deleted from ``points`` in one transaction; queries wait
  for that move (``moving``, see :mod:`.rwlock`), so they see the window in one place.
- A crash between the file's rename and that delete leaves the window in both places:
  :func:`reconcile` at open deletes the rows of ``points`` inside an existing file's range (and
  :func:`archive_closed` only deletes when the file exists); the file is complete, nothing is
  lost.
- A late write into an archived window rewrites that file (old rows minus the rewritten keys,
  plus the new rows, sorted) during the compaction, before it commits; a crash before the commit
  replays the segments, which rewrites the file to the same content.
- A closed UTC day held in several window files of a small tenant is merged into one file
  (:func:`merge_days`): a year is then 365 files rather than 8,760, so long raw reads open few
  files. The merged file is renamed into place before the merged ones are deleted; a crash
  between leaves files inside the merged one's range, which the archive deletes at open.
"""

# ruff: noqa: S608 - SQL text is built only from this package's constants, int() values and
# archive paths quoted by scan_sql; every value that comes from a caller is bound as a parameter.
from __future__ import annotations

import duckdb
import pyarrow as pa

from helan.storage.telemetry.duckdb.archive_files import ArchiveFile, ArchiveFiles, scan_sql
from helan.storage.telemetry.duckdb.rwlock import ReadWriteLock
from helan.storage.telemetry.duckdb.schema import floor_sql

_COLUMNS = "series, ts, value, text, quality"
DAY_MS = 86_400_000
MERGE_MAX_ROWS = 5_000_000  # larger days stay in window files: a merge holds a day in memory


def source_sql(files: list[ArchiveFile]) -> str:
    """A relation of ``points`` rows: the DuckDB table plus ``files`` (those that can overlap
    the query; the caller prunes by tenant and time)."""
    if not files:
        return "points"
    return f"(SELECT {_COLUMNS} FROM points UNION ALL {scan_sql(files)})"


def archive_closed(
    cur: duckdb.DuckDBPyConnection,
    archive: ArchiveFiles,
    moving: ReadWriteLock,
    window_ms: int,
    grace_ms: int,
) -> int:
    """Write every closed window still in ``points`` to its file, delete it from ``points``;
    returns the rows moved (rows already in a file, left by a crash, are only deleted).
    Each window's move holds ``moving`` alone, so queries see it in one place."""
    row = cur.execute(
        "SELECT (SELECT max(ts) FROM latest), (SELECT min(ts) FROM points)"
    ).fetchone()
    if row is None or row[0] is None or row[1] is None:
        return 0
    closed_end = int(row[0]) - int(grace_ms)
    w = int(window_ms)
    if int(row[1]) - int(row[1]) % w + w > closed_end:
        return 0
    windows = cur.execute(
        f"SELECT DISTINCT s.tenant, {floor_sql('p.ts', w)} AS start FROM points AS p "
        f"JOIN series AS s ON s.id = p.series WHERE p.ts < $1 ORDER BY start, s.tenant",
        [closed_end - closed_end % w],
    ).fetchall()
    moved = 0
    for tenant, start in windows:
        lo, hi = int(start), int(start) + w
        mine = "series IN (SELECT id FROM series WHERE tenant = $1) AND ts >= $2 AND ts < $3"
        with moving.exclusive():
            if archive.find(tenant, lo, hi) is None:
                rows: pa.Table = cur.sql(
                    f"SELECT {_COLUMNS} FROM points WHERE {mine} ORDER BY series, ts",
                    params=[tenant, lo, hi],
                ).to_arrow_table()
                archive.write(tenant, lo, hi, rows)
                moved += rows.num_rows
            cur.execute("BEGIN TRANSACTION")
            try:
                cur.execute(f"DELETE FROM points WHERE {mine}", [tenant, lo, hi])
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
    return moved


def reconcile(cur: duckdb.DuckDBPyConnection, archive: ArchiveFiles) -> int:
    """At open: delete rows of ``points`` that an archive file already holds (a crash between
    the file's rename and the delete); returns the rows deleted."""
    row = cur.execute("SELECT min(ts), max(ts) FROM points").fetchone()
    if row is None or row[0] is None:
        return 0
    deleted = 0
    for f in archive.overlapping(None, int(row[0]), int(row[1]) + 1):
        got = cur.execute(
            "DELETE FROM points WHERE series IN (SELECT id FROM series WHERE tenant = $1) "
            "AND ts >= $2 AND ts < $3",
            [f.tenant, f.start, f.end],
        ).fetchone()
        deleted += int(got[0]) if got else 0
    return deleted


def absorb_late(cur: duckdb.DuckDBPyConnection, archive: ArchiveFiles) -> None:
    """Move staged rows (temp table ``staged``: the segments' view ``staging``, deduplicated)
    that fall into an archived window into that window's file, and delete them from ``staged``.
    Called inside the compaction's transaction; the normal case (real-time data, newer than
    every file) costs one query."""
    bounds = cur.execute(
        "SELECT tenant, min(ts), max(ts) FROM staging GROUP BY tenant"  # the segments' view
    ).fetchall()
    for tenant, lo, hi in bounds:
        for f in archive.overlapping(tenant, int(lo), int(hi) + 1):
            _rewrite(cur, archive, f)


def _rewrite(cur: duckdb.DuckDBPyConnection, archive: ArchiveFiles, f: ArchiveFile) -> None:
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE late AS SELECT h.series, h.ts, h.value, h.text, h.quality "
        "FROM staged AS h JOIN series AS s ON s.id = h.series "
        "WHERE s.tenant = $1 AND h.ts >= $2 AND h.ts < $3",
        [f.tenant, f.start, f.end],
    )
    rows = cur.sql(
        f"SELECT {_COLUMNS} FROM ({scan_sql([f])}) AS old ANTI JOIN late USING (series, ts) "
        f"UNION ALL SELECT {_COLUMNS} FROM late ORDER BY series, ts"
    ).to_arrow_table()
    archive.write(f.tenant, f.start, f.end, rows)
    cur.execute(
        "DELETE FROM staged USING late WHERE staged.series = late.series AND staged.ts = late.ts"
    )
    cur.execute("DROP TABLE late")


def merge_days(
    cur: duckdb.DuckDBPyConnection,
    archive: ArchiveFiles,
    moving: ReadWriteLock,
    grace_ms: int,
    max_rows: int = MERGE_MAX_ROWS,
) -> int:
    """Merge each closed day's window files of a tenant into one file, for days of at most
    ``max_rows`` rows (~125 MB in memory at most); returns the number of files merged away.
    Each day holds ``moving`` alone while its files are swapped, so queries see it in one
    place. Call with the store's compaction lock held."""
    ((newest,),) = cur.execute("SELECT max(ts) FROM latest").fetchall()
    if newest is None:
        return 0
    closed_end = int(newest) - int(grace_ms)
    merged = 0
    for tenant, day, files in archive.days(DAY_MS, closed_end):
        if (tenant, day) in archive.unmerged:
            continue
        if archive.rows_of(files) > max_rows:
            archive.unmerged.add((tenant, day))  # not re-read at every compaction
            continue
        # The caller's compaction lock keeps the files as they are; queries wait only for the
        # swap, not for the reading and writing.
        rows: pa.Table = cur.sql(
            f"SELECT {_COLUMNS} FROM ({scan_sql(files)}) ORDER BY series, ts"
        ).to_arrow_table()
        staged = archive.stage(tenant, day, day + DAY_MS, rows)
        with moving.exclusive():
            archive.publish(staged)
            for f in files:
                archive.remove(f)
        merged += len(files)
    return merged
