"""Exports of one device's chart or table: several metrics, raw or by interval, as CSV
(streamed) or XLSX. Bounded: past :data:`helan.reports.tables.MAX_ROWS` rows the request is
refused (422 ``export_too_large``) before anything is sent, naming the remedy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from helan.api.deps import Reader
from helan.api.routers.telemetry import (
    DEFAULT_SPAN_MS,
    DevicePath,
    KnownDevice,
    TimeParam,
    parse_bucket,
    parse_time,
)
from helan.core.errors import ValidationFailed
from helan.ingest.live import now_ms
from helan.reports.tables import csv_chunks, series_table, xlsx_file
from helan.storage.telemetry.base import AGG_FNS, AggFn

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["telemetry"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_CHUNK = 1 << 16


@router.get(
    "/devices/{device}/telemetry:export",
    summary="Several metrics of one device as CSV or XLSX, raw or by interval",
    response_class=StreamingResponse,
)
async def export_table(
    request: Request,
    tenant: str,
    device: DevicePath,
    _: Reader,
    ref: KnownDevice,
    metrics: Annotated[str, Query(max_length=2000, description="Comma-separated metric names")],
    format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",
    from_: Annotated[
        str | None, Query(alias="from", description="Epoch ms or RFC 3339 with offset")
    ] = None,
    to: TimeParam = None,
    interval: Annotated[
        str | None, Query(description="Bucket width (30s, 1m, 1h, 1d); without it raw points")
    ] = None,
    fn: Annotated[AggFn, Query(description=f"With interval: one of {', '.join(AGG_FNS)}")] = "avg",
) -> StreamingResponse:
    end_ms = parse_time("to", to, now_ms())
    start_ms = parse_time("from", from_, end_ms - DEFAULT_SPAN_MS)
    bucket = parse_bucket(interval) if interval else None
    names = [m.strip() for m in metrics.split(",") if m.strip()]
    if not names:
        raise ValidationFailed("metrics: name at least one")
    store = request.app.state.platform.telemetry
    table = await run_in_threadpool(
        series_table, store, ref, tenant, device, names, start_ms, end_ms, bucket_ms=bucket, fn=fn
    )
    filename = f"{device}_{start_ms}_{end_ms}.{format}".replace(":", "-")
    headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "X-Rows": str(len(table.rows)),
    }
    if format == "csv":
        return StreamingResponse(
            csv_chunks(table), media_type="text/csv; charset=utf-8", headers=headers
        )
    spool = await run_in_threadpool(xlsx_file, table)
    return StreamingResponse(_chunks(spool), media_type=XLSX, headers=headers)


def _chunks(spool: IO[bytes]) -> Iterator[bytes]:
    with spool:
        while chunk := spool.read(_CHUNK):
            yield chunk
