"""Checks and plans shared by both backends, so they reject the same input the same way.

Every name is checked against :mod:`helan.core.ids` before it reaches SQL (where it is still only
ever bound as a parameter), and every range or page is bounded, so a query cannot be made to
scan or return without limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from helan.core import ids
from helan.core.errors import ValidationFailed
from helan.core.points import POINT_SCHEMA
from helan.storage.telemetry.base import (
    AGG_FNS,
    MAX_BUCKET_MS,
    MAX_PAGE,
    MIN_BUCKET_MS,
    AggQuery,
    RawQuery,
)

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
ROLLUP_GRAINS = (HOUR_MS, MINUTE_MS)  # coarsest first: the plan takes the first that divides
MAX_METRICS = 100

RAW_SCHEMA = pa.schema(
    [
        pa.field("ts", pa.int64()),
        pa.field("value", pa.float64()),
        pa.field("text", pa.string()),
        pa.field("quality", pa.int8()),
    ]
)
AGG_SCHEMA = pa.schema(
    [
        pa.field("bucket", pa.int64()),
        pa.field("metric", pa.string()),
        pa.field("value", pa.float64()),
    ]
)
LATEST_SCHEMA = pa.schema(
    [
        pa.field("device", pa.string()),
        pa.field("metric", pa.string()),
        pa.field("ts", pa.int64()),
        pa.field("value", pa.float64()),
        pa.field("text", pa.string()),
    ]
)
_KEY_COLUMNS = ("tenant", "device", "metric", "ts", "quality")


def check_batch(batch: pa.Table) -> pa.Table:
    """The batch in POINT_SCHEMA (compatible types are cast); key columns must have no nulls."""
    if not isinstance(batch, pa.Table):
        raise ValidationFailed(f"a batch must be a pyarrow Table, not {type(batch).__name__}")
    if batch.schema.names != POINT_SCHEMA.names:
        raise ValidationFailed(
            f"batch columns {batch.schema.names} differ from POINT_SCHEMA {POINT_SCHEMA.names}"
        )
    for name in _KEY_COLUMNS:
        if batch.column(name).null_count:
            raise ValidationFailed(f"batch column {name!r} has nulls")
    if not batch.schema.equals(POINT_SCHEMA):
        try:
            batch = batch.cast(POINT_SCHEMA)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as exc:
            raise ValidationFailed(f"batch does not fit POINT_SCHEMA: {exc}") from exc
    return batch


def check_range(start_ms: int, end_ms: int) -> None:
    if not isinstance(start_ms, int) or not isinstance(end_ms, int):
        raise ValidationFailed("start and end must be integer epoch milliseconds")
    if start_ms >= end_ms:
        raise ValidationFailed(f"start ({start_ms}) must be before end ({end_ms})")


def check_raw(q: RawQuery) -> RawQuery:
    ids.tenant_id(q.tenant)
    ids.device_id(q.device)
    ids.metric_name(q.metric)
    check_range(q.start_ms, q.end_ms)
    if not 1 <= q.limit <= MAX_PAGE:
        raise ValidationFailed(f"limit must be between 1 and {MAX_PAGE}, not {q.limit}")
    if q.offset < 0:
        raise ValidationFailed(f"offset must not be negative, not {q.offset}")
    return q


def check_export(q: RawQuery) -> RawQuery:
    """Export ignores paging, so only names and range are checked."""
    ids.tenant_id(q.tenant)
    ids.device_id(q.device)
    ids.metric_name(q.metric)
    check_range(q.start_ms, q.end_ms)
    return q


def check_retention(tenant: str, ts_ms: int) -> None:
    ids.tenant_id(tenant)
    if not isinstance(ts_ms, int):
        raise ValidationFailed("the retention cut-off must be integer epoch milliseconds")


def check_agg(q: AggQuery) -> AggQuery:
    ids.tenant_id(q.tenant)
    ids.device_id(q.device)
    if isinstance(q.metrics, str) or not q.metrics:
        raise ValidationFailed("metrics must be a non-empty list of metric names")
    if len(q.metrics) > MAX_METRICS:
        raise ValidationFailed(f"at most {MAX_METRICS} metrics per query, not {len(q.metrics)}")
    for metric in q.metrics:
        ids.metric_name(metric)
    check_range(q.start_ms, q.end_ms)
    if q.fn not in AGG_FNS:
        raise ValidationFailed(f"fn must be one of {', '.join(AGG_FNS)}, not {q.fn!r}")
    bucket = q.bucket_ms
    if not isinstance(bucket, int) or not MIN_BUCKET_MS <= bucket <= MAX_BUCKET_MS:
        raise ValidationFailed(f"bucket must be between 1 s and 1 d, not {bucket!r} ms")
    if bucket % 1000:
        raise ValidationFailed(f"bucket must be a whole number of seconds, not {bucket} ms")
    return q


@dataclass(frozen=True, slots=True)
class AggPlan:
    """How to answer an aggregate: roll-up rows of ``grain`` for [inner_start, inner_end), raw
    rows for the edges of the range outside it. ``grain`` 0 means raw rows only."""

    grain: int
    inner_start: int
    inner_end: int


def plan_aggregate(q: AggQuery, *, rollups: bool = True) -> AggPlan:
    if rollups:
        for grain in ROLLUP_GRAINS:
            if q.bucket_ms % grain == 0:
                inner_start = -(-q.start_ms // grain) * grain
                inner_end = (q.end_ms // grain) * grain
                if inner_start < inner_end:
                    return AggPlan(grain, inner_start, inner_end)
    return AggPlan(0, q.end_ms, q.end_ms)


def check_names(kind: str, names: Sequence[str] | None) -> list[str] | None:
    """A latest() filter: None, or a list of device ids (``kind`` "devices") or metric names."""
    if names is None:
        return None
    if isinstance(names, str):
        raise ValidationFailed(f"{kind} must be a list of names, not a string")
    checker = ids.device_id if kind == "devices" else ids.metric_name
    return [checker(n) for n in names]
