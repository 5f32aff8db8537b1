"""The regional view's plans and indicators.

``/api/v1/regions/{region}/indicators``: progress against the plan's targets for the region,
each division directly below it and each industry one level down (``industry`` drills into
a GB/T 4754 section, then a division), from the stored daily series; ``.../series`` one
indicator's days; ``.../export`` the same as XLSX or PDF. ``.../plans``: plans as data (a
region's administrators load them; an unknown division, a target in the past, a repeated
target is a 422 naming its position). ``.../admins``: the region viewers a platform
administrator made administrators of the region.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from starlette.concurrency import run_in_threadpool

from helan.api.deps import Meta, PlatformAdmin
from helan.api.region_deps import RegionCode, RegionManager, RegionViewer
from helan.api.schemas.region import (
    AdminIn,
    AdminOut,
    IndicatorDef,
    PathItem,
    PlanDetail,
    PlanIn,
    PlanOut,
    ProgressOut,
    ProgressRow,
    RefreshOut,
    SeriesPoint,
    TargetOut,
)
from helan.core.errors import NotFound
from helan.region.indicators import ALL, BY_ID, INDICATORS
from helan.region.industries import check_industry
from helan.reports.region_export import progress_pdf, progress_xlsx
from helan.services import region_indicators as ind
from helan.services import region_plans as plans

router = APIRouter(prefix="/api/v1/regions/{region}", tags=["regions"])
PlanPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
Year = Annotated[int | None, Query(ge=2000, le=2100, description="Target year (default: now)")]
Industry = Annotated[
    str | None,
    Query(pattern=r"^([A-Ta-t]|[0-9]{2})$", description="GB/T 4754 section or division"),
]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _progress(
    meta: Meta, region: str, year: int | None, industry: str | None, plan: str | None
) -> ind.Progress:
    key = ALL if industry is None else check_industry(industry)
    return ind.progress(meta, region, year=year or plans.this_year(), industry=key, plan_id=plan)


def _out(p: ind.Progress) -> ProgressOut:
    def row(r: ind.Row) -> ProgressRow:
        return ProgressRow(code=r.code, name=r.name, values=r.values, targets=r.targets)

    return ProgressOut(
        region=p.region,
        name=p.name,
        industry=p.industry,
        year=p.year,
        day=p.day,
        computed_at=p.computed_at,
        plan=PlanOut.model_validate(p.plan) if p.plan is not None else None,
        path=[PathItem(code=c, name=n) for c, n in p.path],
        indicators=[IndicatorDef.model_validate(i, from_attributes=True) for i in INDICATORS],
        total=row(p.total),
        divisions=[row(r) for r in p.divisions],
        industries=[row(r) for r in p.industries],
    )


@router.get("/indicators", summary="Progress against the plan by division and industry")
async def get_indicators(
    region: RegionCode,
    _: RegionViewer,
    meta: Meta,
    year: Year = None,
    industry: Industry = None,
    plan: Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")] = None,
) -> ProgressOut:
    return _out(await run_in_threadpool(_progress, meta, region, year, industry, plan))


@router.get("/indicators/export", summary="The indicator page as XLSX or PDF")
async def export_indicators(
    region: RegionCode,
    _: RegionViewer,
    meta: Meta,
    format: Annotated[Literal["xlsx", "pdf"], Query()] = "xlsx",
    year: Year = None,
    industry: Industry = None,
    plan: Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")] = None,
) -> Response:
    p = await run_in_threadpool(_progress, meta, region, year, industry, plan)
    render = progress_xlsx if format == "xlsx" else progress_pdf
    body = await run_in_threadpool(render, p)
    media = XLSX if format == "xlsx" else "application/pdf"
    name = f"region-{region}-{p.industry or 'all'}-{p.year}.{format}"
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/indicators/{indicator}/series", summary="One indicator's stored daily values")
async def indicator_series(
    region: RegionCode,
    indicator: Annotated[str, Path(pattern=r"^[a-z_]{1,48}$")],
    _: RegionViewer,
    meta: Meta,
    industry: Industry = None,
    days: Annotated[int, Query(ge=1, le=3660)] = 90,
) -> list[SeriesPoint]:
    if indicator not in BY_ID:
        raise NotFound(f"indicator {indicator!r} not found")
    key = ALL if industry is None else check_industry(industry)
    rows = await run_in_threadpool(ind.series, meta, region, indicator, industry=key, days=days)
    return [SeriesPoint(day=d, value=v) for d, v in rows]


@router.post("/indicators/refresh", summary="Compute every region's indicators now")
async def refresh_indicators(region: RegionCode, _: RegionManager, meta: Meta) -> RefreshOut:
    """What the daily job does (every region's rows of today), on demand."""
    at = datetime.now(UTC)
    n = await run_in_threadpool(ind.refresh, meta, at)
    return RefreshOut(rows=n, at=at)


@router.get("/plans", summary="Plans of the region, above and below it")
async def list_plans(region: RegionCode, _: RegionViewer, meta: Meta) -> list[PlanOut]:
    rows = await run_in_threadpool(plans.list_plans, meta, region)
    return [PlanOut.model_validate(p) for p in rows]


@router.post("/plans", status_code=201, summary="Load a plan (targets as data)")
async def create_plan(
    region: RegionCode, body: PlanIn, principal: RegionManager, meta: Meta
) -> PlanDetail:
    doc = body.model_dump()
    row = await run_in_threadpool(plans.create_plan, meta, principal, region, doc)
    return await _detail(meta, region, row.id)


async def _detail(meta: Meta, region: str, plan_id: str) -> PlanDetail:
    plan, targets = await run_in_threadpool(plans.get_plan, meta, region, plan_id)
    return PlanDetail(
        **PlanOut.model_validate(plan).model_dump(),
        targets=[TargetOut.model_validate(t) for t in targets],
    )


@router.get("/plans/{plan}", summary="A plan with its targets")
async def get_plan(region: RegionCode, plan: PlanPath, _: RegionViewer, meta: Meta) -> PlanDetail:
    return await _detail(meta, region, plan)


@router.delete("/plans/{plan}", status_code=204, summary="Delete a plan of the region")
async def delete_plan(
    region: RegionCode, plan: PlanPath, principal: RegionManager, meta: Meta
) -> Response:
    await run_in_threadpool(plans.delete_plan, meta, principal, region, plan)
    return Response(status_code=204)


@router.get("/admins", summary="Region viewers administering the region")
async def list_admins(region: RegionCode, _: RegionViewer, meta: Meta) -> list[AdminOut]:
    rows = await run_in_threadpool(plans.list_admins, meta, region)
    return [AdminOut.model_validate(r) for r in rows]


@router.post("/admins", status_code=201, summary="Make a region viewer the region's administrator")
async def grant_admin(
    region: RegionCode, body: AdminIn, _: RegionViewer, principal: PlatformAdmin, meta: Meta
) -> AdminOut:
    row = await run_in_threadpool(plans.grant_admin, meta, principal, body.username, region)
    return AdminOut.model_validate(row)


@router.delete("/admins/{username}", status_code=204, summary="Withdraw the grant")
async def revoke_admin(
    region: RegionCode,
    username: Annotated[str, Path(min_length=1, max_length=64)],
    _: RegionViewer,
    principal: PlatformAdmin,
    meta: Meta,
) -> Response:
    await run_in_threadpool(plans.revoke_admin, meta, principal, username, region)
    return Response(status_code=204)
