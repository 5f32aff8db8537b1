"""The PostgreSQL telemetry store: write-time dedupe (upsert on (series, ts)) in one transaction.

A write registers unknown series first (committed on its own, so cached ids stay valid), then
copies the batch into a temporary table and, in one transaction, upserts ``points``, rebuilds
the touched roll-up buckets and advances ``latest``: when ``write`` returns, all of it is
committed. One connection writes and one reads, each behind a lock.
"""

# ruff: noqa: S608 - SQL text is built only from this package's constants and int() values;
# every value that comes from a caller is bound as a parameter.
from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, BinaryIO, Literal

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc

from helan.core import ids
from helan.core.errors import StorageUnavailable
from helan.core.points import POINT_SCHEMA
from helan.storage.telemetry import query as qry
from helan.storage.telemetry.base import AggQuery, RawQuery, StoreStats
from helan.storage.telemetry.export import TimeFormat, check_format, write_batches
from helan.storage.telemetry.postgres import schema
from helan.storage.telemetry.postgres.copy import STAGING, copy_batch
from helan.storage.telemetry.postgres.schema import (
    COMBINE,
    DIRECT,
    HOUR,
    MINUTE,
    PARTIAL_COLUMNS,
    PARTITION_MS,
    floor_sql,
)

EXPORT_BATCH_ROWS = 50_000
Conn = psycopg.Connection[tuple[Any, ...]]


# Advisory lock keys (one 64-bit key for partition DDL; a class for per-series two-int keys).
PARTITION_LOCK = 0x48454C414E0001
SERIES_LOCK_CLASS = 0x4845


class PostgresStore:
    """TelemetryStore on PostgreSQL (see :mod:`helan.storage.telemetry.base`)."""

    def __init__(self, url: str) -> None:
        try:
            self._wconn: Conn = psycopg.connect(url, autocommit=True)
            self._rconn: Conn = psycopg.connect(url, autocommit=True)
        except psycopg.OperationalError as exc:
            raise StorageUnavailable(f"cannot connect to the telemetry database: {exc}") from exc
        self.timescale = schema.create(self._wconn)
        self._wconn.execute(STAGING)
        self._series: dict[str, int] = {}
        self._partitions: set[int] = set()
        self._wlock = threading.Lock()
        self._rlock = threading.Lock()
        self._closed = False

    # -- writing ---------------------------------------------------------------------------

    def write(self, batch: pa.Table) -> int:
        batch = qry.check_batch(batch)
        n: int = batch.num_rows
        if n == 0:
            return 0
        with self._wlock:
            self._check_open()
            try:
                series = self._series_ids(batch)
                self._ensure_partitions(batch.column("ts").to_numpy())
                with self._wconn.transaction(), self._wconn.cursor() as cur:
                    copy_batch(cur, batch, series)
                    self._merge(cur)
            except psycopg.OperationalError as exc:
                raise StorageUnavailable(f"telemetry write failed: {exc}") from exc
        return n

    def _series_ids(self, batch: pa.Table) -> np.ndarray:
        keys = pc.binary_join_element_wise(
            batch.column("tenant"), batch.column("device"), batch.column("metric"), "\x1f"
        ).combine_chunks()
        encoded = keys.dictionary_encode()
        uniques: list[str] = encoded.dictionary.to_pylist()
        missing = [k for k in uniques if k not in self._series]
        if missing:
            parts = [k.split("\x1f") for k in missing]
            cols = [[p[i] for p in parts] for i in range(3)]
            with self._wconn.transaction():
                self._wconn.execute(
                    "INSERT INTO series (tenant, device, metric) SELECT * FROM "
                    "unnest(%s::text[], %s::text[], %s::text[]) ON CONFLICT DO NOTHING",
                    cols,
                )
                rows = self._wconn.execute(
                    "SELECT s.id, s.tenant, s.device, s.metric FROM series s JOIN "
                    "unnest(%s::text[], %s::text[], %s::text[]) AS k(tenant, device, metric) "
                    "USING (tenant, device, metric)",
                    cols,
                ).fetchall()
            for sid, tenant, device, metric in rows:
                self._series[f"{tenant}\x1f{device}\x1f{metric}"] = int(sid)
        lut = np.array([self._series[k] for k in uniques], dtype=np.int32)
        indices: np.ndarray = encoded.indices.to_numpy(zero_copy_only=False)
        return lut.take(indices)

    def _ensure_partitions(self, ts: np.ndarray) -> None:
        """Create missing weekly partitions. ``IF NOT EXISTS`` is not safe against another
        writer process creating the same one at once, so creation takes a lock first."""
        if self.timescale:
            return
        for index in np.unique(ts // PARTITION_MS).tolist():
            if index not in self._partitions:
                with self._wconn.transaction():
                    self._wconn.execute("SELECT pg_advisory_xact_lock(%s::int8)", (PARTITION_LOCK,))
                    self._wconn.execute(schema.partition_ddl(index))
                self._partitions.add(index)

    @staticmethod
    def _merge(cur: psycopg.Cursor[tuple[Any, ...]]) -> None:
        # Roll-ups are rebuilt from the points of each touched (series, minute): two writer
        # processes doing so for one series at once would each miss the other's uncommitted
        # points (and collide on the roll-up's key). Each transaction therefore locks its
        # series first, in ascending order (no deadlock), until it commits.
        cur.execute(
            "SELECT pg_advisory_xact_lock(%s::int4, s.series) FROM "
            "(SELECT DISTINCT series FROM staging ORDER BY series) AS s",
            (SERIES_LOCK_CLASS,),
        )
        cur.execute(
            "INSERT INTO points SELECT DISTINCT ON (series, ts) series, ts, value, text, quality "
            "FROM staging ORDER BY series, ts, seq DESC ON CONFLICT (series, ts) DO UPDATE SET "
            "value = excluded.value, text = excluded.text, quality = excluded.quality"
        )
        cur.execute(
            "CREATE TEMP TABLE touched ON COMMIT DROP AS "
            f"SELECT DISTINCT series, {MINUTE} AS bucket "
            "FROM staging"
        )
        _recompute_rollups(cur, "touched")
        cur.execute(
            "INSERT INTO latest SELECT n.series, s.tenant, s.device, s.metric, n.ts, n.value, "
            "n.text, n.quality FROM (SELECT DISTINCT ON (series) * FROM staging "
            "ORDER BY series, ts DESC, seq DESC) AS n JOIN series AS s ON s.id = n.series "
            "ON CONFLICT (series) DO UPDATE SET ts = excluded.ts, value = excluded.value, "
            "text = excluded.text, quality = excluded.quality WHERE excluded.ts >= latest.ts"
        )

    # -- reading ---------------------------------------------------------------------------

    def _series_id(self, tenant: str, device: str, metric: str) -> int | None:
        key = f"{tenant}\x1f{device}\x1f{metric}"
        sid = self._series.get(key)
        if sid is None:
            row = self._read(
                "SELECT id FROM series WHERE tenant = %s AND device = %s AND metric = %s",
                (tenant, device, metric),
            )
            if not row:
                return None
            sid = self._series[key] = int(row[0][0])
        return sid

    def _read(
        self, sql: str, params: Sequence[object] | Mapping[str, object]
    ) -> list[tuple[Any, ...]]:
        self._check_open()
        with self._rlock:
            try:
                return self._rconn.execute(sql, params).fetchall()
            except psycopg.OperationalError as exc:
                raise StorageUnavailable(f"telemetry query failed: {exc}") from exc

    def raw(self, q: RawQuery) -> pa.Table:
        qry.check_raw(q)
        sid = self._series_id(q.tenant, q.device, q.metric)
        if sid is None:
            return qry.RAW_SCHEMA.empty_table()
        order = "DESC" if q.descending else "ASC"
        rows = self._read(
            "SELECT ts, value, text, quality FROM points WHERE series = %s AND ts >= %s "
            f"AND ts < %s ORDER BY ts {order} LIMIT %s OFFSET %s",
            (sid, q.start_ms, q.end_ms, q.limit, q.offset),
        )
        return _table(rows, qry.RAW_SCHEMA)

    def between(
        self, tenant: str, start_ms: int, end_ms: int, metrics: Sequence[str], limit: int
    ) -> pa.Table:
        if not metrics:
            return POINT_SCHEMA.empty_table()
        rows = self._read(
            "SELECT s.tenant, s.device, s.metric, p.ts, p.value, p.text, p.quality "
            "FROM points AS p JOIN series AS s ON s.id = p.series "
            "WHERE s.tenant = %s AND s.metric = ANY(%s) AND p.ts >= %s AND p.ts < %s "
            "ORDER BY s.device, p.ts, s.metric LIMIT %s",
            (tenant, list(metrics), start_ms, end_ms, limit),
        )
        return _table(rows, POINT_SCHEMA)

    def aggregate(self, q: AggQuery, *, rollups: bool = True) -> pa.Table:
        """Bucketed aggregate; ``rollups=False`` forces the raw-row path (checks, baselines)."""
        qry.check_agg(q)
        sids = [s for m in q.metrics if (s := self._series_id(q.tenant, q.device, m)) is not None]
        if not sids:
            return qry.AGG_SCHEMA.empty_table()
        plan = qry.plan_aggregate(q, rollups=rollups)
        b = q.bucket_ms
        params: dict[str, object] = {
            "ids": sids,
            "start": q.start_ms,
            "end": q.end_ms,
            "inner_start": plan.inner_start,
            "inner_end": plan.inner_end,
        }
        if plan.grain == 0:
            sql = (
                f"SELECT {floor_sql('ts', b)} AS bucket, series, {DIRECT[q.fn]} AS value "
                "FROM points WHERE series = ANY(%(ids)s) AND ts >= %(start)s AND ts < %(end)s "
                "AND value IS NOT NULL GROUP BY 1, 2"
            )
        else:
            table = "rollup_1h" if plan.grain == qry.HOUR_MS else "rollup_1m"
            sql = (
                "WITH partial AS ("
                f"SELECT series, bucket AS pb, cnt, sum, min, max, first, last FROM {table} "
                "WHERE series = ANY(%(ids)s) AND bucket >= %(inner_start)s "
                "AND bucket < %(inner_end)s "
                f"UNION ALL SELECT series, {floor_sql('ts', plan.grain)} AS pb, {PARTIAL_COLUMNS} "
                "FROM points WHERE series = ANY(%(ids)s) AND value IS NOT NULL "
                "AND ((ts >= %(start)s AND ts < %(inner_start)s) "
                "OR (ts >= %(inner_end)s AND ts < %(end)s)) GROUP BY 1, 2) "
                f"SELECT {floor_sql('pb', b)} AS bucket, series, {COMBINE[q.fn]} AS value "
                "FROM partial GROUP BY 1, 2"
            )
        rows = self._read(
            f"SELECT a.bucket, s.metric, a.value::float8 FROM ({sql}) AS a "
            "JOIN series AS s ON s.id = a.series ORDER BY a.bucket, s.metric",
            params,
        )
        return _table(rows, qry.AGG_SCHEMA)

    def latest(
        self,
        tenant: str,
        devices: Sequence[str] | None = None,
        metrics: Sequence[str] | None = None,
    ) -> pa.Table:
        ids.tenant_id(tenant)
        device_list = qry.check_names("devices", devices)
        metric_list = qry.check_names("metrics", metrics)
        sql = "SELECT device, metric, ts, value, text FROM latest WHERE tenant = %s"
        params: list[object] = [tenant]
        if device_list is not None:
            sql += " AND device = ANY(%s)"
            params.append(device_list)
        if metric_list is not None:
            sql += " AND metric = ANY(%s)"
            params.append(metric_list)
        return _table(self._read(sql, params), qry.LATEST_SCHEMA)

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
        sid = self._series_id(q.tenant, q.device, q.metric)
        if sid is None:
            return write_batches(qry.RAW_SCHEMA, iter(()), fmt, out, times=times)
        self._check_open()
        with self._rlock, self._rconn.transaction(), self._rconn.cursor(name="export") as cur:
            cur.execute(
                "SELECT ts, value, text, quality FROM points WHERE series = %s AND ts >= %s "
                "AND ts < %s ORDER BY ts",
                (sid, q.start_ms, q.end_ms),
            )
            return write_batches(qry.RAW_SCHEMA, _batches(cur), fmt, out, times=times)

    # -- retention and housekeeping --------------------------------------------------------

    def delete_before(self, tenant: str, ts_ms: int) -> int:
        qry.check_retention(tenant, ts_ms)
        mine = "series IN (SELECT id FROM series WHERE tenant = %(tenant)s)"
        params = {"tenant": tenant, "cut": ts_ms, "minute": ts_ms - ts_ms % qry.MINUTE_MS}
        with self._wlock:
            self._check_open()
            with self._wconn.transaction(), self._wconn.cursor() as cur:
                cur.execute(f"DELETE FROM points WHERE {mine} AND ts < %(cut)s", params)
                removed = cur.rowcount
                for table in ("rollup_1m", "rollup_1h"):
                    cur.execute(f"DELETE FROM {table} WHERE {mine} AND bucket < %(cut)s", params)
                cur.execute(f"DELETE FROM latest WHERE {mine} AND ts < %(cut)s", params)
                cur.execute(
                    "CREATE TEMP TABLE cut ON COMMIT DROP AS SELECT id AS series, "
                    "%(minute)s::bigint AS bucket FROM series WHERE tenant = %(tenant)s",
                    params,
                )
                _recompute_rollups(cur, "cut")
        return removed

    def stats(self) -> StoreStats:
        size = (
            "SELECT hypertable_size('points')"
            if self.timescale
            else "SELECT coalesce(sum(pg_total_relation_size(relid)), 0) "
            "FROM pg_partition_tree('points')"
        )
        points = self._read("SELECT count(*) FROM points", ())[0][0]
        disk = self._read(size, ())[0][0] or 0
        others = self._read(
            "SELECT sum(pg_total_relation_size(t::regclass)) FROM "
            "unnest(ARRAY['series', 'rollup_1m', 'rollup_1h', 'latest']) AS t",
            (),
        )[0][0]
        return StoreStats(points=int(points), disk_bytes=int(disk) + int(others or 0))

    def points_bytes(self) -> int:
        """Bytes of the points table alone (heap, index, TOAST), for per-point figures."""
        size = (
            "SELECT hypertable_size('points')"
            if self.timescale
            else "SELECT coalesce(sum(pg_total_relation_size(relid)), 0) "
            "FROM pg_partition_tree('points')"
        )
        return int(self._read(size, ())[0][0] or 0)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._wlock:
            self._wconn.close()
        with self._rlock:
            self._rconn.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StorageUnavailable("the telemetry store is closed")


def _recompute_rollups(cur: psycopg.Cursor[tuple[Any, ...]], touched: str) -> None:
    """Rebuild the roll-up rows of the (series, minute bucket) pairs in table ``touched``."""
    cur.execute(
        f"DELETE FROM rollup_1m r USING {touched} t "
        "WHERE r.series = t.series AND r.bucket = t.bucket"
    )
    cur.execute(
        f"INSERT INTO rollup_1m SELECT p.series, t.bucket, {PARTIAL_COLUMNS} FROM {touched} t "
        "JOIN points p ON p.series = t.series AND p.ts >= t.bucket AND p.ts < t.bucket + 60000 "
        "WHERE p.value IS NOT NULL GROUP BY 1, 2"
    )
    cur.execute(
        f"CREATE TEMP TABLE touched_h ON COMMIT DROP AS SELECT DISTINCT series, {HOUR} AS bucket "
        f"FROM {touched}"
    )
    cur.execute(
        "DELETE FROM rollup_1h r USING touched_h t "
        "WHERE r.series = t.series AND r.bucket = t.bucket"
    )
    cur.execute(
        "INSERT INTO rollup_1h SELECT t.series, t.bucket, sum(r.cnt), sum(r.sum), min(r.min), "
        "max(r.max), (array_agg(r.first ORDER BY r.bucket))[1], "
        "(array_agg(r.last ORDER BY r.bucket DESC))[1] FROM touched_h t JOIN rollup_1m r "
        "ON r.series = t.series AND r.bucket >= t.bucket AND r.bucket < t.bucket + 3600000 "
        "GROUP BY 1, 2"
    )
    cur.execute("DROP TABLE touched_h")


def _table(rows: list[tuple[Any, ...]], schema_: pa.Schema) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema_]
    return pa.table(
        [pa.array(col, type=f.type) for col, f in zip(columns, schema_, strict=True)],
        schema=schema_,
    )


def _batches(cur: psycopg.Cursor[tuple[Any, ...]]) -> Iterator[pa.RecordBatch]:
    while rows := cur.fetchmany(EXPORT_BATCH_ROWS):
        yield pa.RecordBatch.from_pydict(
            {
                f.name: pa.array(col, type=f.type)
                for f, col in zip(qry.RAW_SCHEMA, zip(*rows, strict=True), strict=True)
            },
            schema=qry.RAW_SCHEMA,
        )
