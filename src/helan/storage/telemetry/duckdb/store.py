"""The embedded telemetry store: one DuckDB file, a directory of staged segments and an
archive of Parquet files.

``write`` stages the batch as an fsynced Arrow IPC segment (:mod:`.segments`) and returns: the
points are durable, at file-write speed. A compactor thread moves the segments into the
compressed ``points`` table, the roll-ups and ``latest`` once they hold ``compact_rows`` rows or
are ``compact_interval_s`` old, then deletes them, then archives closed windows of ``points`` to
Parquet (:mod:`.archive`). Every read first compacts what is staged, so reads always see every
acknowledged write, exactly once; raw reads are the union of ``points`` and the archive files
that can overlap them.
"""

# ruff: noqa: S608 - SQL text is built only from this package's constants and int() values;
# every value that comes from a caller is bound as a parameter.
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, Literal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from helan.core import ids
from helan.core.errors import StorageUnavailable
from helan.core.points import POINT_SCHEMA
from helan.storage.telemetry import query as qry
from helan.storage.telemetry.base import AggQuery, RawQuery, StoreStats
from helan.storage.telemetry.duckdb.archive import (
    DAY_MS,
    archive_closed,
    merge_days,
    reconcile,
    source_sql,
)
from helan.storage.telemetry.duckdb.archive_files import ArchiveFiles, scan_sql
from helan.storage.telemetry.duckdb.compaction import compact, recompute_rollups
from helan.storage.telemetry.duckdb.rwlock import ReadWriteLock
from helan.storage.telemetry.duckdb.schema import (
    COMBINE,
    DDL,
    DIRECT,
    PARTIAL_COLUMNS,
    floor_sql,
)
from helan.storage.telemetry.duckdb.segments import SegmentLog
from helan.storage.telemetry.duckdb.shrink import remove_unfinished, shrink, worth_shrinking
from helan.storage.telemetry.export import TimeFormat, check_format, write_batches

log = logging.getLogger(__name__)
_MIN_TS = -(2**63)

EXPORT_BATCH_ROWS = 100_000


class DuckDBStore:
    """TelemetryStore on an embedded DuckDB file (see :mod:`helan.storage.telemetry.base`)."""

    def __init__(
        self,
        path: Path,
        *,
        compact_rows: int = 2_000_000,
        compact_interval_s: float = 30.0,
        archive_window_ms: int = qry.HOUR_MS,
        archive_grace_ms: int = 5 * qry.MINUTE_MS,
        threads: int | None = None,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        config: dict[str, str | bool | int | float | list[str]] = {}
        if threads:
            config["threads"] = threads
        self._config = config
        remove_unfinished(path)
        try:
            self._db = duckdb.connect(str(path), config=config)
        except duckdb.Error as exc:
            raise StorageUnavailable(f"cannot open telemetry database {path}: {exc}") from exc
        self._db.execute(DDL)
        self.staging = SegmentLog(path.with_name(path.name + ".staging"))
        self.archive = ArchiveFiles(path.with_name(path.name + ".archive"))
        with self._db.cursor() as cur:
            if reconcile(cur, self.archive):
                log.warning("removed rows already archived (a crash before their delete)")
        self._series: dict[tuple[str, str, str], int] = {}
        self._compact_lock = threading.Lock()
        self._moving = ReadWriteLock()  # see rwlock.py: queries vs. rows moving to the archive
        self._compact_rows = compact_rows
        self._compact_interval_s = compact_interval_s
        self._archive_window_ms = archive_window_ms
        self._archive_grace_ms = archive_grace_ms
        self._wake = threading.Event()
        self._closed = False
        self._compactor = threading.Thread(
            target=self._compact_loop, name="helan-telemetry-compactor", daemon=True
        )
        self._compactor.start()

    # -- writing ---------------------------------------------------------------------------

    def write(self, batch: pa.Table) -> int:
        batch = qry.check_batch(batch)
        n: int = batch.num_rows
        if n == 0:
            return 0
        self._check_open()
        self.staging.append(batch)
        if self.staging.rows >= self._compact_rows:
            self._wake.set()
        return n

    def compact(self) -> int:
        """Move every staged segment into the tables, checkpoint, delete the segments;
        returns the number of rows moved."""
        with self._compact_lock:
            return self._compact_locked()

    def _compact_locked(self) -> int:
        segments = self.staging.pending()
        if not segments:
            return 0
        with self._db.cursor() as cur:
            compact(cur, self.staging.read(segments), self.archive)
            _checkpoint(cur)
        self.staging.drop(segments)
        return sum(s.rows for s in segments)

    def archive_closed(self) -> int:
        """Move closed windows of ``points`` to Parquet files (see :mod:`.archive`); returns
        rows moved. The compactor thread runs it; reads never wait for it beyond a compaction."""
        with self._compact_lock, self._db.cursor() as cur:
            moved = archive_closed(
                cur, self.archive, self._moving, self._archive_window_ms, self._archive_grace_ms
            )
            if moved:
                _checkpoint(cur)
            if self._archive_window_ms < DAY_MS:
                merge_days(cur, self.archive, self._moving, self._archive_grace_ms)
            shrinking = moved > 0 and worth_shrinking(cur)
        if shrinking:
            with self._compact_lock, self._moving.exclusive():
                self._db = shrink(self._db, self.path, self._config)
        return moved

    def _compact_loop(self) -> None:
        last = time.monotonic()
        if self.staging.rows:
            self._wake.set()  # segments left by a crash: replay them now
        while not self._closed:
            self._wake.wait(timeout=min(self._compact_interval_s, 1.0))
            self._wake.clear()
            due = time.monotonic() - last >= self._compact_interval_s
            if self._closed or not (self.staging.rows >= self._compact_rows or due):
                if self.staging.rows == 0:
                    last = time.monotonic()
                continue
            try:
                self.compact()
                self.archive_closed()
            except (duckdb.Error, OSError):
                log.exception("telemetry compaction failed; staged segments stay and are retried")
            last = time.monotonic()

    # -- reading ---------------------------------------------------------------------------

    def _series_id(self, tenant: str, device: str, metric: str) -> int | None:
        key = (tenant, device, metric)
        sid = self._series.get(key)
        if sid is None:
            with self._moving.shared(), self._db.cursor() as cur:
                row = cur.execute(
                    "SELECT id FROM series WHERE tenant = $1 AND device = $2 AND metric = $3",
                    list(key),
                ).fetchone()
            if row is None:
                return None
            sid = self._series[key] = int(row[0])
        return sid

    def _points(self, tenant: str, *ranges: tuple[int, int]) -> str:
        """``points`` plus the tenant's archive files that overlap any of ``ranges``."""
        files = {f for lo, hi in ranges for f in self.archive.overlapping(tenant, lo, hi)}
        return source_sql(sorted(files))

    def _fresh(self) -> None:
        self._check_open()
        if self.staging.rows:
            self.compact()

    def raw(self, q: RawQuery) -> pa.Table:
        qry.check_raw(q)
        self._fresh()
        sid = self._series_id(q.tenant, q.device, q.metric)
        if sid is None:
            return qry.RAW_SCHEMA.empty_table()
        order = "DESC" if q.descending else "ASC"
        with self._moving.shared(), self._db.cursor() as cur:
            points = self._points(q.tenant, (q.start_ms, q.end_ms))
            result = cur.sql(
                f"SELECT ts, value, text, quality FROM {points} WHERE series = $1 AND ts >= $2 "
                f"AND ts < $3 ORDER BY ts {order} LIMIT $4 OFFSET $5",
                params=[sid, q.start_ms, q.end_ms, q.limit, q.offset],
            ).to_arrow_table()
        return result.cast(qry.RAW_SCHEMA)

    def between(
        self, tenant: str, start_ms: int, end_ms: int, metrics: Sequence[str], limit: int
    ) -> pa.Table:
        self._fresh()
        if not metrics:
            return POINT_SCHEMA.empty_table()
        with self._moving.shared(), self._db.cursor() as cur:
            points = self._points(tenant, (start_ms, end_ms))
            result = cur.sql(
                "SELECT s.tenant, s.device, s.metric, p.ts, p.value, p.text, p.quality "
                f"FROM {points} AS p JOIN series AS s ON s.id = p.series "
                "WHERE s.tenant = $1 AND list_contains($2, s.metric) AND p.ts >= $3 AND p.ts < $4 "
                "ORDER BY s.device, p.ts, s.metric LIMIT $5",
                params=[tenant, list(metrics), start_ms, end_ms, limit],
            ).to_arrow_table()
        return result.cast(POINT_SCHEMA)

    def aggregate(self, q: AggQuery, *, rollups: bool = True) -> pa.Table:
        """Bucketed aggregate; ``rollups=False`` forces the raw-row path (checks, baselines)."""
        qry.check_agg(q)
        self._fresh()
        sids = {
            sid: m for m in q.metrics if (sid := self._series_id(q.tenant, q.device, m)) is not None
        }
        if not sids:
            return qry.AGG_SCHEMA.empty_table()
        ids = ", ".join(str(int(s)) for s in sids)
        plan = qry.plan_aggregate(q, rollups=rollups)
        if plan.grain == 0:
            ranges = [(q.start_ms, q.end_ms)]
        else:
            edges = (q.start_ms, plan.inner_start), (plan.inner_end, q.end_ms)
            ranges = [(lo, hi) for lo, hi in edges if lo < hi]
        with self._moving.shared(), self._db.cursor() as cur:
            sql, params = _aggregate_sql(q, plan, ids, self._points(q.tenant, *ranges))
            table_ = cur.sql(
                f"SELECT a.bucket, s.metric, a.value FROM ({sql}) AS a "
                "JOIN series AS s ON s.id = a.series ORDER BY a.bucket, s.metric",
                params=params,
            ).to_arrow_table()
        return table_.cast(qry.AGG_SCHEMA)

    def latest(
        self,
        tenant: str,
        devices: Sequence[str] | None = None,
        metrics: Sequence[str] | None = None,
    ) -> pa.Table:
        ids.tenant_id(tenant)
        device_list = qry.check_names("devices", devices)
        metric_list = qry.check_names("metrics", metrics)
        self._fresh()
        sql = "SELECT device, metric, ts, value, text FROM latest WHERE tenant = $1"
        params: list[object] = [tenant]
        if device_list is not None:
            sql += " AND device IN (SELECT unnest($2::VARCHAR[]))"
            params.append(device_list)
        if metric_list is not None:
            sql += f" AND metric IN (SELECT unnest(${len(params) + 1}::VARCHAR[]))"
            params.append(metric_list)
        with self._moving.shared(), self._db.cursor() as cur:
            # Unordered: sorting 50k names would double the cost of the query.
            result = cur.sql(sql, params=params).to_arrow_table()
        return result.cast(qry.LATEST_SCHEMA)

    def export(
        self,
        q: RawQuery,
        fmt: Literal["csv", "parquet"],
        out: BinaryIO,
        *,
        times: TimeFormat = "epoch_ms",
    ) -> int:
        qry.check_export(q)
        fmt = check_format(fmt)
        self._fresh()
        sid = self._series_id(q.tenant, q.device, q.metric)
        if sid is None:
            return write_batches(qry.RAW_SCHEMA, iter(()), fmt, out, times=times)
        with self._moving.shared(), self._db.cursor() as cur:
            points = self._points(q.tenant, (q.start_ms, q.end_ms))
            reader = cur.sql(
                f"SELECT ts, value, text, quality FROM {points} WHERE series = $1 AND ts >= $2 "
                "AND ts < $3 ORDER BY ts",
                params=[sid, q.start_ms, q.end_ms],
            ).to_arrow_reader(EXPORT_BATCH_ROWS)
            return write_batches(qry.RAW_SCHEMA, _cast_batches(reader), fmt, out, times=times)

    # -- retention and housekeeping --------------------------------------------------------

    def delete_before(self, tenant: str, ts_ms: int) -> int:
        qry.check_retention(tenant, ts_ms)
        self._fresh()
        mine = "series IN (SELECT id FROM series WHERE tenant = $1)"
        minute = ts_ms - ts_ms % qry.MINUTE_MS
        with self._compact_lock, self._moving.exclusive(), self._db.cursor() as cur:
            removed = self._expire_archive(cur, tenant, ts_ms)
            cur.execute("BEGIN TRANSACTION")
            try:
                row = cur.execute(
                    f"DELETE FROM points WHERE {mine} AND ts < $2", [tenant, ts_ms]
                ).fetchone()
                removed += int(row[0]) if row else 0
                for table in ("rollup_1m", "rollup_1h", "latest"):
                    column = "ts" if table == "latest" else "bucket"
                    cur.execute(
                        f"DELETE FROM {table} WHERE {mine} AND {column} < $2", [tenant, ts_ms]
                    )
                cur.execute(
                    "CREATE OR REPLACE TEMP TABLE cut AS SELECT id AS series, $2::BIGINT AS bucket "
                    "FROM series WHERE tenant = $1",
                    [tenant, minute],
                )
                points = self._points(tenant, (minute, minute + qry.MINUTE_MS))
                recompute_rollups(cur, "cut", minute, minute + qry.MINUTE_MS, points)
                cur.execute("DROP TABLE cut")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
        return removed

    def _expire_archive(self, cur: duckdb.DuckDBPyConnection, tenant: str, ts_ms: int) -> int:
        """Delete the tenant's archive files wholly before ``ts_ms`` and rewrite the one that
        straddles it; returns the rows removed. Idempotent, like the rest of retention."""
        removed = 0
        for f in self.archive.overlapping(tenant, _MIN_TS, ts_ms):
            rows = pq.read_metadata(f.path).num_rows
            kept = None
            if f.end > ts_ms:
                kept = cur.sql(
                    f"SELECT * FROM ({scan_sql([f])}) WHERE ts >= $1 ORDER BY series, ts",
                    params=[ts_ms],
                ).to_arrow_table()
            if kept is not None and kept.num_rows:
                self.archive.write(f.tenant, f.start, f.end, kept)
                removed += rows - kept.num_rows
            else:
                self.archive.remove(f)
                removed += rows
        return removed

    def stats(self) -> StoreStats:
        self._fresh()
        with self._moving.shared(), self._db.cursor() as cur:
            row = cur.execute("SELECT count(*) FROM points").fetchone()
        stored = (int(row[0]) if row else 0) + self.archive.rows()
        return StoreStats(points=stored, disk_bytes=self.disk_bytes())

    def disk_bytes(self) -> int:
        """Everything the store keeps on disk: database file, its WAL, staged segments and
        the archive."""
        wal = self.path.with_name(self.path.name + ".wal")
        files = [f for f in (self.path, wal) if f.exists()]
        return (
            sum(f.stat().st_size for f in files)
            + self.staging.disk_bytes()
            + self.archive.disk_bytes()
        )

    def free_bytes(self) -> int:
        """Free blocks inside the database file (left by deletes and archiving): counted in
        :meth:`disk_bytes`, and filled by later data before the file grows again."""
        with self._moving.shared(), self._db.cursor() as cur:
            row = cur.execute(
                "SELECT free_blocks * block_size FROM pragma_database_size()"
            ).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        self._compactor.join()
        try:
            with self._compact_lock:
                self._compact_locked()
            with self._db.cursor() as cur:
                cur.execute("CHECKPOINT")
        finally:
            self._db.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StorageUnavailable("the telemetry store is closed")


def _aggregate_sql(q: AggQuery, plan: qry.AggPlan, ids: str, points: str) -> tuple[str, list[int]]:
    """The aggregate's SQL (columns bucket, series, value) over the relation ``points``:
    roll-up rows of the plan's grain inside the range, raw rows for the edges."""
    b = q.bucket_ms
    if plan.grain == 0:
        sql = (
            f"SELECT {floor_sql('ts', b)} AS bucket, series, {DIRECT[q.fn]} AS value "
            f"FROM {points} WHERE series IN ({ids}) AND ts >= $1 AND ts < $2 "
            "AND value IS NOT NULL GROUP BY ALL"
        )
        return sql, [q.start_ms, q.end_ms]
    table = "rollup_1h" if plan.grain == qry.HOUR_MS else "rollup_1m"
    sql = (
        "WITH partial AS ("
        f"SELECT series, bucket AS pb, cnt, sum, min, max, first, last FROM {table} "
        f"WHERE series IN ({ids}) AND bucket >= $3 AND bucket < $4 "
        f"UNION ALL SELECT series, {floor_sql('ts', plan.grain)} AS pb, {PARTIAL_COLUMNS} "
        f"FROM {points} WHERE series IN ({ids}) AND value IS NOT NULL "
        "AND ((ts >= $1 AND ts < $3) OR (ts >= $4 AND ts < $2)) GROUP BY ALL) "
        f"SELECT {floor_sql('pb', b)} AS bucket, series, {COMBINE[q.fn]} AS value "
        "FROM partial GROUP BY ALL"
    )
    return sql, [q.start_ms, q.end_ms, plan.inner_start, plan.inner_end]


def _checkpoint(cur: duckdb.DuckDBPyConnection) -> None:
    """Write compacted data into the file now, so the WAL stays small; skipped (DuckDB
    checkpoints later) while another cursor has a transaction open."""
    try:
        cur.execute("CHECKPOINT")
    except duckdb.TransactionException:
        log.debug("checkpoint deferred: a read is in flight")


def _cast_batches(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    for batch in reader:
        yield pa.RecordBatch.from_arrays(
            [batch.column(i).cast(f.type) for i, f in enumerate(qry.RAW_SCHEMA)],
            schema=qry.RAW_SCHEMA,
        )
