"""Telemetry queries: raw points, bucketed aggregates and file export of one device's data.

Times are epoch milliseconds or RFC 3339 with an offset; store calls block, so they run in the
thread pool. The live latest values are served by the ``live`` router from memory, not here.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, BinaryIO, Literal, cast

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from helan.api.deps import MAX_OFFSET, Reader
from helan.core import ids
from helan.core.errors import NotFound, ValidationFailed
from helan.core.thing import DeviceRef, MetricSpec, typed_value
from helan.storage.telemetry.base import (
    AGG_FNS,
    MAX_PAGE,
    AggFn,
    AggQuery,
    RawQuery,
    TelemetryStore,
)
from helan.storage.telemetry.export import TimeFormat

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["telemetry"])

DEFAULT_SPAN_MS = 3_600_000
_BUCKET = re.compile(r"^([1-9][0-9]{0,5})(s|m|h|d)$")
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_CHUNK = 1 << 16

TimeParam = Annotated[
    str | None,
    Query(description="Epoch milliseconds or RFC 3339 with offset, e.g. 2024-05-01T00:00:00Z"),
]
DevicePath = Annotated[str, Path(description="Device id")]
MetricPath = Annotated[str, Path(description="Metric name")]


def parse_time(name: str, value: str | None, default: int) -> int:
    """Epoch ms from ``value`` (digits, or RFC 3339 with a UTC offset), ``default`` if absent."""
    if value is None or value == "":
        return default
    if re.fullmatch(r"-?[0-9]{1,16}", value):
        return int(value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed(
            f"{name} must be epoch milliseconds or RFC 3339, not {value!r}"
        ) from exc
    if parsed.tzinfo is None:
        raise ValidationFailed(f"{name} needs a UTC offset (e.g. 'Z'): {value!r}")
    return int(parsed.timestamp() * 1000)


def parse_bucket(value: str) -> int:
    """``30s``, ``1m``, ``15m``, ``1h``, ``1d`` ... to milliseconds (the store checks the range)."""
    match = _BUCKET.fullmatch(value)
    if match is None:
        raise ValidationFailed(f"bucket must look like 30s, 1m, 1h or 1d, not {value!r}")
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


def _range(start: str | None, end: str | None) -> tuple[int, int]:
    end_ms = parse_time("end", end, int(datetime.now().timestamp() * 1000))
    return parse_time("start", start, end_ms - DEFAULT_SPAN_MS), end_ms


def _store(request: Request) -> TelemetryStore:
    store: TelemetryStore = request.app.state.platform.telemetry
    return store


def known_device(request: Request, tenant: str, device: DevicePath) -> DeviceRef:
    """The device, or 404 as for its events: an empty series must not hide a wrong id."""
    ref: DeviceRef | None = request.app.state.platform.directory.lookup(tenant, device)
    if ref is None:
        raise NotFound(f"device {device!r} not found")
    return ref


KnownDevice = Annotated[DeviceRef, Depends(known_device)]


@router.get("/devices/{device}/telemetry/{metric}", summary="Raw points of one metric")
async def raw_points(
    request: Request,
    tenant: str,
    device: DevicePath,
    metric: MetricPath,
    _: Reader,
    ref: KnownDevice,
    start: TimeParam = None,
    end: TimeParam = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1000,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    order: Annotated[Literal["asc", "desc"], Query()] = "asc",
) -> dict[str, Any]:
    start_ms, end_ms = _range(start, end)
    q = RawQuery(
        tenant=tenant,
        device=device,
        metric=metric,
        start_ms=start_ms,
        end_ms=end_ms,
        limit=limit,
        offset=offset,
        descending=order == "desc",
    )
    table = await run_in_threadpool(_store(request).raw, q)
    return {
        "device": device,
        "metric": metric,
        "start": start_ms,
        "end": end_ms,
        "limit": limit,
        "offset": offset,
        "points": _typed_points(table.to_pylist(), ref.metrics.get(metric)),
    }


def _typed_points(rows: list[dict[str, Any]], spec: MetricSpec | None) -> list[dict[str, Any]]:
    if spec is None or spec.type not in ("bool", "int"):
        return rows
    for row in rows:
        row["value"] = typed_value(row["value"], row["text"], spec)
    return rows


@router.get("/devices/{device}/telemetry", summary="Bucketed aggregates of several metrics")
async def aggregate(
    request: Request,
    tenant: str,
    device: DevicePath,
    _: Reader,
    __: KnownDevice,
    metrics: Annotated[str, Query(description="Comma-separated metric names")],
    bucket: Annotated[str, Query(description="Bucket width: 30s, 1m, 1h, 1d ...")] = "1m",
    fn: Annotated[AggFn, Query(description=f"One of {', '.join(AGG_FNS)}")] = "avg",
    start: TimeParam = None,
    end: TimeParam = None,
) -> dict[str, Any]:
    start_ms, end_ms = _range(start, end)
    names = [m.strip() for m in metrics.split(",") if m.strip()]
    q = AggQuery(
        tenant=tenant,
        device=device,
        metrics=names,
        start_ms=start_ms,
        end_ms=end_ms,
        bucket_ms=parse_bucket(bucket),
        fn=fn,
    )
    table = await run_in_threadpool(_store(request).aggregate, q)
    series: dict[str, list[list[float | int | None]]] = {name: [] for name in names}
    for b, metric, value in zip(
        *(table.column(c).to_pylist() for c in ("bucket", "metric", "value")), strict=True
    ):
        series[metric].append([b, value])
    return {
        "device": device,
        "start": start_ms,
        "end": end_ms,
        "bucket_ms": q.bucket_ms,
        "fn": fn,
        "series": series,
    }


@router.get(
    "/devices/{device}/telemetry/{metric}/export",
    summary="Every point of a range as CSV or Parquet",
    response_class=StreamingResponse,
)
async def export(
    request: Request,
    tenant: str,
    device: DevicePath,
    metric: MetricPath,
    _: Reader,
    __: KnownDevice,
    format: Annotated[Literal["csv", "parquet"], Query()] = "csv",
    times: Annotated[
        TimeFormat,
        Query(description="CSV `ts` column: epoch milliseconds, or ISO 8601 UTC (Parquet: ms)"),
    ] = "epoch_ms",
    start: TimeParam = None,
    end: TimeParam = None,
) -> StreamingResponse:
    start_ms, end_ms = _range(start, end)
    ids.metric_name(metric)
    q = RawQuery(tenant=tenant, device=device, metric=metric, start_ms=start_ms, end_ms=end_ms)
    spool = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115 - closed by _chunks
    try:
        out = cast(BinaryIO, spool)  # a SpooledTemporaryFile is a binary file, not typed as one
        await run_in_threadpool(lambda: _store(request).export(q, format, out, times=times))
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    media = "text/csv" if format == "csv" else "application/vnd.apache.parquet"
    filename = f"{device}_{metric}_{start_ms}_{end_ms}.{format}".replace(":", "-")
    return StreamingResponse(
        _chunks(spool),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _chunks(spool: tempfile.SpooledTemporaryFile[bytes]) -> Iterator[bytes]:
    with spool:
        while chunk := spool.read(_CHUNK):
            yield chunk
