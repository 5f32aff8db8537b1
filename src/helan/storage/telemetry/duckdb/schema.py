"""DuckDB layout: the tables compaction fills from the staged segments (see docs/storage.md).

``points`` holds an integer series id instead of three strings and only the windows not yet
archived to Parquet (see :mod:`.archive`); roll-ups, ``latest`` and ``series`` stay here.
"""

from __future__ import annotations

DDL = """
CREATE SEQUENCE IF NOT EXISTS series_id START 1;
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    tenant VARCHAR NOT NULL,
    device VARCHAR NOT NULL,
    metric VARCHAR NOT NULL,
    UNIQUE (tenant, device, metric)
);
CREATE TABLE IF NOT EXISTS points (
    series INTEGER NOT NULL,
    ts BIGINT NOT NULL,
    value DOUBLE,
    text VARCHAR,
    quality TINYINT NOT NULL
);
CREATE TABLE IF NOT EXISTS rollup_1m (
    series INTEGER NOT NULL,
    bucket BIGINT NOT NULL,
    cnt BIGINT NOT NULL,
    sum DOUBLE NOT NULL,
    min DOUBLE NOT NULL,
    max DOUBLE NOT NULL,
    first DOUBLE NOT NULL,
    last DOUBLE NOT NULL
);
CREATE TABLE IF NOT EXISTS rollup_1h AS SELECT * FROM rollup_1m LIMIT 0;
CREATE TABLE IF NOT EXISTS latest (
    series INTEGER NOT NULL,
    tenant VARCHAR NOT NULL,
    device VARCHAR NOT NULL,
    metric VARCHAR NOT NULL,
    ts BIGINT NOT NULL,
    value DOUBLE,
    text VARCHAR,
    quality TINYINT NOT NULL
);
"""


def floor_sql(column: str, step: int) -> str:
    """``column`` floored to a multiple of ``step`` (also right for negative epochs)."""
    step = int(step)
    return f"({column} - (({column} % {step}) + {step}) % {step})"


# Raw rows -> one partial aggregate row per (series, bucket); roll-ups store exactly these.
PARTIAL_COLUMNS = (
    "count(value) AS cnt, sum(value) AS sum, min(value) AS min, max(value) AS max, "
    "arg_min(value, ts) AS first, arg_max(value, ts) AS last"
)
# Partial rows (column ``pb`` = partial bucket) -> the requested function.
COMBINE = {
    "avg": "sum(sum) / sum(cnt)",
    "min": "min(min)",
    "max": "max(max)",
    "sum": "sum(sum)",
    "count": "sum(cnt)::DOUBLE",
    "first": "arg_min(first, pb)",
    "last": "arg_max(last, pb)",
}
# Raw rows -> the requested function directly (the path for buckets finer than a minute).
DIRECT = {
    "avg": "avg(value)",
    "min": "min(value)",
    "max": "max(value)",
    "sum": "sum(value)",
    "count": "count(value)::DOUBLE",
    "first": "arg_min(value, ts)",
    "last": "arg_max(value, ts)",
}
