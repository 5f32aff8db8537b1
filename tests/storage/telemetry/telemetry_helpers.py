"""Data helpers shared by the telemetry tests (a module, since tests/ has no packages)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from helan.core.points import POINT_SCHEMA
from helan.storage.telemetry.duckdb.store import DuckDBStore
from helan.storage.telemetry.postgres.store import PostgresStore

Store = DuckDBStore | PostgresStore
T0 = 1_699_999_200_000  # a round hour (UTC); tests add offsets to be unaligned where it matters


def points(
    ts: np.ndarray,
    values: np.ndarray,
    *,
    tenant: str = "acme",
    device: str = "pump-1",
    metric: str = "pressure",
    text: list[str | None] | None = None,
) -> pa.Table:
    """A numeric batch for one series (NaN values become nulls)."""
    n = len(ts)
    value = pa.array(values, pa.float64(), from_pandas=True)
    return pa.table(
        {
            "tenant": pa.array([tenant] * n, pa.string()),
            "device": pa.array([device] * n, pa.string()),
            "metric": pa.array([metric] * n, pa.string()),
            "ts": pa.array(ts, pa.int64()),
            "value": value,
            "text": pa.array(text if text is not None else [None] * n, pa.string()),
            "quality": pa.array(np.zeros(n, np.int8)),
        },
        schema=POINT_SCHEMA,
    )
