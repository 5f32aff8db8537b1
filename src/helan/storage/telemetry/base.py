"""The telemetry store contract. Both backends pass the same suite (tests/storage/telemetry)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO, Literal, Protocol

import pyarrow as pa

from helan.storage.telemetry.export import TimeFormat

AggFn = Literal["avg", "min", "max", "sum", "count", "first", "last"]
AGG_FNS: tuple[AggFn, ...] = ("avg", "min", "max", "sum", "count", "first", "last")
MIN_BUCKET_MS = 1_000
MAX_BUCKET_MS = 86_400_000
MAX_PAGE = 100_000


@dataclass(frozen=True, slots=True, kw_only=True)
class RawQuery:
    tenant: str
    device: str
    metric: str
    start_ms: int
    end_ms: int  # exclusive
    limit: int = 1000
    offset: int = 0
    descending: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class AggQuery:
    tenant: str
    device: str
    metrics: Sequence[str]
    start_ms: int
    end_ms: int  # exclusive
    bucket_ms: int
    fn: AggFn = "avg"


@dataclass(frozen=True, slots=True)
class StoreStats:
    points: int
    disk_bytes: int


class TelemetryStore(Protocol):
    """Durable, idempotent storage of points (see :mod:`helan.core.points`).

    ``write`` returns only once the points are durable: ingest acknowledges upstream after it.
    A point written twice (same tenant, device, metric, ts) is stored once; the later value wins.
    Methods are blocking; async callers run them in a worker thread.
    """

    def write(self, batch: pa.Table) -> int:
        """Persist a batch in POINT_SCHEMA; returns the number of rows taken."""
        ...

    def raw(self, q: RawQuery) -> pa.Table:
        """Columns ts, value, text, quality ordered by ts."""
        ...

    def aggregate(self, q: AggQuery) -> pa.Table:
        """Columns bucket (epoch ms of bucket start), metric, value; numeric points only."""
        ...

    def latest(
        self,
        tenant: str,
        devices: Sequence[str] | None = None,
        metrics: Sequence[str] | None = None,
    ) -> pa.Table:
        """Columns device, metric, ts, value, text: the newest point of each series
        (rows in no particular order)."""
        ...

    def export(
        self,
        q: RawQuery,
        fmt: Literal["csv", "parquet"],
        out: BinaryIO,
        *,
        times: TimeFormat = "epoch_ms",
    ) -> int:
        """Write every point of the range (no paging) to ``out``; returns rows written. CSV
        writes ``ts`` as epoch ms or, with ``times="iso8601"``, ISO 8601 UTC."""
        ...

    def between(
        self, tenant: str, start_ms: int, end_ms: int, metrics: Sequence[str], limit: int
    ) -> pa.Table:
        """Every point of the tenant's ``metrics`` (all devices) with ``start_ms <= ts <
        end_ms``, in POINT_SCHEMA ordered by device then ts, at most ``limit`` rows: what the
        rule engine replays after a restart and a backtest reads."""
        ...

    def delete_before(self, tenant: str, ts_ms: int) -> int:
        """Retention: drop the tenant's points older than ts_ms; returns rows removed."""
        ...

    def stats(self) -> StoreStats: ...

    def close(self) -> None: ...
