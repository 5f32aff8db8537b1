"""Telemetry points in flight: one Arrow table schema shared by ingest, storage and export.

Long format ``(tenant, device, metric, ts, value)``: numbers and booleans in ``value`` (float64,
booleans as 0/1), strings apart in ``text``; ``quality`` follows OPC UA's coarse classes.
Arrow because HTTP bulk bodies arrive as Arrow, DuckDB appends Arrow without copying, and
columnar validation is vectorised.
"""

from __future__ import annotations

from enum import IntEnum

import pyarrow as pa


class Quality(IntEnum):
    GOOD = 0
    UNCERTAIN = 1
    BAD = 2


POINT_SCHEMA = pa.schema(
    [
        pa.field("tenant", pa.string(), nullable=False),
        pa.field("device", pa.string(), nullable=False),
        pa.field("metric", pa.string(), nullable=False),
        pa.field("ts", pa.int64(), nullable=False),  # epoch milliseconds, UTC
        pa.field("value", pa.float64()),  # null when the point is a string
        pa.field("text", pa.string()),  # null unless the point is a string
        pa.field("quality", pa.int8(), nullable=False),
    ]
)


def batch_from_columns(
    tenant: list[str],
    device: list[str],
    metric: list[str],
    ts: list[int],
    value: list[float | None],
    text: list[str | None] | None = None,
    quality: list[int] | None = None,
) -> pa.Table:
    """Build a batch from equal-length Python lists (the common case in tests and the simulator)."""
    n = len(ts)
    return pa.table(
        {
            "tenant": pa.array(tenant, pa.string()),
            "device": pa.array(device, pa.string()),
            "metric": pa.array(metric, pa.string()),
            "ts": pa.array(ts, pa.int64()),
            "value": pa.array(value, pa.float64()),
            "text": pa.array(text if text is not None else [None] * n, pa.string()),
            "quality": pa.array(quality if quality is not None else [0] * n, pa.int8()),
        },
        schema=POINT_SCHEMA,
    )
