"""PostgreSQL layout: the same tables as the DuckDB backend, deduplicated at write.

``points`` has primary key (series, ts), so a rewrite is an upsert. It is a TimescaleDB
hypertable with native compression (segment by series, order by ts) when the extension can be
created, and otherwise a table range-partitioned on ts by week, partitions made on demand.
"""

from __future__ import annotations

import logging

import psycopg

from helan.storage.telemetry.query import HOUR_MS, MINUTE_MS

log = logging.getLogger(__name__)

PARTITION_MS = 7 * 86_400_000

COMMON = """
CREATE TABLE IF NOT EXISTS series (
    id serial PRIMARY KEY,
    tenant text NOT NULL,
    device text NOT NULL,
    metric text NOT NULL,
    UNIQUE (tenant, device, metric)
);
CREATE TABLE IF NOT EXISTS rollup_1m (
    series int NOT NULL,
    bucket bigint NOT NULL,
    cnt bigint NOT NULL,
    sum float8 NOT NULL,
    min float8 NOT NULL,
    max float8 NOT NULL,
    first float8 NOT NULL,
    last float8 NOT NULL,
    PRIMARY KEY (series, bucket)
);
CREATE TABLE IF NOT EXISTS rollup_1h (LIKE rollup_1m INCLUDING ALL);
CREATE TABLE IF NOT EXISTS latest (
    series int PRIMARY KEY,
    tenant text NOT NULL,
    device text NOT NULL,
    metric text NOT NULL,
    ts bigint NOT NULL,
    value float8,
    text text,
    quality smallint NOT NULL
);
CREATE INDEX IF NOT EXISTS latest_tenant ON latest (tenant, device, metric);
"""
POINTS_COLUMNS = """
    series int NOT NULL,
    ts bigint NOT NULL,
    value float8,
    text text,
    quality smallint NOT NULL,
    PRIMARY KEY (series, ts)
"""
NATIVE = f"CREATE TABLE IF NOT EXISTS points ({POINTS_COLUMNS}) PARTITION BY RANGE (ts)"
TIMESCALE = [
    f"CREATE TABLE IF NOT EXISTS points ({POINTS_COLUMNS})",
    "CREATE OR REPLACE FUNCTION helan_now_ms() RETURNS bigint LANGUAGE sql STABLE AS "
    "$$ SELECT (extract(epoch FROM now()) * 1000)::bigint $$",
    f"SELECT create_hypertable('points', by_range('ts', {PARTITION_MS}::bigint), "
    "if_not_exists => true)",
    "SELECT set_integer_now_func('points', 'helan_now_ms', replace_if_exists => true)",
    "ALTER TABLE points SET (timescaledb.compress, timescaledb.compress_segmentby = 'series', "
    "timescaledb.compress_orderby = 'ts')",
    f"SELECT add_compression_policy('points', compress_after => {PARTITION_MS}::bigint, "
    "if_not_exists => true)",
]


def floor_sql(column: str, step: int) -> str:
    """``column`` floored to a multiple of ``step``; mod() rather than % keeps it free of
    placeholder escaping."""
    step = int(step)
    return f"({column} - mod(mod({column}, {step}) + {step}, {step}))"


MINUTE = floor_sql("ts", MINUTE_MS)
HOUR = floor_sql("bucket", HOUR_MS)
PARTIAL_COLUMNS = (
    "count(value) AS cnt, sum(value) AS sum, min(value) AS min, max(value) AS max, "
    "(array_agg(value ORDER BY ts))[1] AS first, (array_agg(value ORDER BY ts DESC))[1] AS last"
)
COMBINE = {
    "avg": "sum(sum) / sum(cnt)",
    "min": "min(min)",
    "max": "max(max)",
    "sum": "sum(sum)",
    "count": "sum(cnt)::float8",
    "first": "(array_agg(first ORDER BY pb))[1]",
    "last": "(array_agg(last ORDER BY pb DESC))[1]",
}
DIRECT = {
    "avg": "avg(value)",
    "min": "min(value)",
    "max": "max(value)",
    "sum": "sum(value)",
    "count": "count(value)::float8",
    "first": "(array_agg(value ORDER BY ts))[1]",
    "last": "(array_agg(value ORDER BY ts DESC))[1]",
}


def create(conn: psycopg.Connection[tuple[object, ...]]) -> bool:
    """Create the schema (idempotent); returns True when ``points`` is a Timescale hypertable."""
    with conn.transaction():
        conn.execute(COMMON)
        exists = conn.execute("SELECT to_regclass('points') IS NOT NULL").fetchone()
        if exists and exists[0]:
            return _is_hypertable(conn)
    if _timescale_available(conn):
        try:
            with conn.transaction():
                conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
                for statement in TIMESCALE:
                    conn.execute(statement)
            return True
        except psycopg.Error as exc:  # e.g. not in shared_preload_libraries
            log.warning("TimescaleDB is installed but unusable (%s); using native partitions", exc)
    with conn.transaction():
        conn.execute(NATIVE)
    return False


def _timescale_available(conn: psycopg.Connection[tuple[object, ...]]) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    return bool(row and row[0])


def _is_hypertable(conn: psycopg.Connection[tuple[object, ...]]) -> bool:
    row = conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    if not (row and row[0]):
        return False
    row = conn.execute(
        "SELECT count(*) FROM timescaledb_information.hypertables WHERE hypertable_name = 'points'"
    ).fetchone()
    return bool(row and row[0])


def partition_ddl(index: int) -> str:
    """The weekly partition holding ts in [index * PARTITION_MS, (index + 1) * PARTITION_MS)."""
    index = int(index)
    name = f"points_p{index}" if index >= 0 else f"points_m{-index}"
    return (
        f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF points "
        f"FOR VALUES FROM ({index * PARTITION_MS}) TO ({(index + 1) * PARTITION_MS})"
    )
