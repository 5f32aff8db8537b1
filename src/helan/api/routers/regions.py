"""Regions: aggregates over the tenants of an administrative division, for the platform's
administrators (any region) and region viewers (their own region and the divisions below it;
another region does not exist for them). Counts only, never a tenant's data."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from starlette.concurrency import run_in_threadpool

from helan.api.deps import CurrentPrincipal, enforce, get_platform
from helan.api.schemas.regions import RegionSummary, RegionTenant
from helan.ingest.live import now_ms
from helan.platform import Platform
from helan.security.policy import may_see_region
from helan.services.regions import region_figures
from helan.storage.meta.codes import validate_region

router = APIRouter(prefix="/api/v1/regions", tags=["regions"])
PlatformDep = Annotated[Platform, Depends(get_platform)]
RegionCode = Annotated[
    str, Path(pattern=r"^[0-9]{6}$", description="GB/T 2260 division code, e.g. 640000")
]


@router.get("/{region}/summary", summary="Counts over the tenants of a region")
async def region_summary(
    region: RegionCode, principal: CurrentPrincipal, platform: PlatformDep
) -> RegionSummary:
    """Tenants (by status), devices, devices online now, identifiers and app installs of the
    tenants whose region lies in ``region``, in total and per tenant."""
    validate_region(region)
    enforce(may_see_region(principal, region))
    figures = await run_in_threadpool(region_figures, platform.meta, region)
    live, directory, at = platform.live, platform.directory, now_ms()
    rows = []
    for t in figures.tenants:
        online = sum(
            1
            for device, state in live.devices(t.id).items()
            if live.online(state, at) and directory.lookup(t.id, device) is not None
        )
        rows.append(
            RegionTenant(
                id=t.id, name=t.name, devices=t.devices, online=online, identifiers=t.identifiers
            )
        )
    by_status: dict[str, int] = {}
    for t in figures.tenants:
        by_status[t.status] = by_status.get(t.status, 0) + 1
    return RegionSummary(
        region=region,
        at=at,
        tenants=len(rows),
        tenants_by_status=by_status,
        devices=sum(r.devices for r in rows),
        online=sum(r.online for r in rows),
        identifiers=sum(r.identifiers for r in rows),
        apps_installed=sum(figures.apps.values()),
        apps=figures.apps,
        by_tenant=rows,
    )
