"""Report definitions, running one now, its runs and their PDFs. Scheduled runs come from
:func:`helan.reports.runs.report_jobs`; the rules are in :mod:`helan.reports`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from helan.api.deps import Meta, Paging, Reader, Writer
from helan.api.routers.telemetry import parse_time
from helan.api.schemas.common import Page
from helan.api.schemas.dashboards import ReportCreate, ReportOut, RunOut
from helan.core.errors import NotFound
from helan.ingest.live import now_ms
from helan.reports import definitions as service
from helan.reports.runs import execute_run
from helan.storage.meta.models_console import ReportDefinition, ReportRun

router = APIRouter(prefix="/api/v1/tenants/{tenant}/reports", tags=["reports"])


def _out(row: ReportDefinition) -> ReportOut:
    return ReportOut.model_validate(row)


def _run(row: ReportRun) -> RunOut:
    return RunOut.model_validate(row)


def _input(body: ReportCreate) -> service.ReportInput:
    return service.ReportInput(
        title_zh=body.title_zh,
        title_en=body.title_en,
        source=body.source.model_dump(exclude_none=True),
        language=body.language,
        range_hours=body.range_hours,
        schedule=body.schedule,
        hour=body.hour,
        timezone=body.timezone,
        recipients=list(body.recipients),
        enabled=body.enabled,
    )


@router.get("")
def list_reports(
    tenant: str, _: Reader, meta: Meta, paging: Annotated[Paging, Depends()]
) -> Page[ReportOut]:
    found = service.list_reports(meta, tenant, paging)
    items = [_out(r) for r in found.rows]
    return Page(items=items, total=found.total, limit=paging.limit, offset=paging.offset)


@router.post("", status_code=201)
def create_report(tenant: str, body: ReportCreate, principal: Writer, meta: Meta) -> ReportOut:
    return _out(service.create_report(meta, tenant, _input(body), principal, report=body.id))


@router.get("/{report}")
def get_report(tenant: str, report: str, _: Reader, meta: Meta) -> ReportOut:
    return _out(service.get_report(meta, tenant, report))


@router.put("/{report}")
def update_report(
    tenant: str, report: str, body: ReportCreate, principal: Writer, meta: Meta
) -> ReportOut:
    return _out(service.update_report(meta, tenant, report, _input(body), principal))


@router.delete("/{report}", status_code=204)
def delete_report(tenant: str, report: str, principal: Writer, meta: Meta) -> Response:
    service.delete_report(meta, tenant, report, principal)
    return Response(status_code=204)


@router.post("/{report}/runs", status_code=201)
async def run_report(
    request: Request,
    tenant: str,
    report: str,
    principal: Writer,
    meta: Meta,
    end: Annotated[str | None, Query(description="Range end (default now)")] = None,
    mail: Annotated[bool, Query(description="Also mail it to the recipients")] = False,
) -> RunOut:
    """Render now (the range ends at ``end``) and keep the PDF; 503 without a CJK font."""
    definition = service.get_report(meta, tenant, report)
    platform = request.app.state.platform
    at = datetime.fromtimestamp(parse_time("end", end, now_ms()) / 1000, UTC)
    row = await run_in_threadpool(
        lambda: execute_run(
            meta,
            platform.telemetry,
            platform.settings,
            definition,
            end=at,
            trigger="manual",
            actor=(principal.kind, principal.subject),
            mail=mail,
        )
    )
    return _run(row)


@router.get("/{report}/runs")
def list_runs(
    tenant: str, report: str, _: Reader, meta: Meta, paging: Annotated[Paging, Depends()]
) -> Page[RunOut]:
    found = service.list_runs(meta, tenant, report, paging)
    items = [_run(r) for r in found.rows]
    return Page(items=items, total=found.total, limit=paging.limit, offset=paging.offset)


@router.get("/{report}/runs/{run}")
def get_run(tenant: str, report: str, run: int, _: Reader, meta: Meta) -> RunOut:
    return _run(service.get_run(meta, tenant, report, run))


@router.get("/{report}/runs/{run}/pdf", response_class=Response)
def run_pdf(tenant: str, report: str, run: int, _: Reader, meta: Meta) -> Response:
    row = service.get_run(meta, tenant, report, run)
    if row.pdf is None:
        raise NotFound(f"run {run} has no PDF ({row.status}: {row.error})")
    name = f"{report}-{row.range_end:%Y%m%d-%H%M}.pdf"
    return Response(
        row.pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
