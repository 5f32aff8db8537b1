"""Who may look at and manage a region, as FastAPI dependencies for the ``region_*`` routers.

``{region}`` is checked against the shipped GB/T 2260 list first (an unknown code is a 422
naming it); then :func:`helan.security.policy.may_see_region` (platform administrators; a
region viewer in its own region, 404 elsewhere) or :func:`~helan.security.policy.
may_manage_region` (platform administrators; region viewers granted the region's
administration; 403 for other viewers of it).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path
from starlette.concurrency import run_in_threadpool

from helan.api.deps import CurrentPrincipal, Meta, enforce
from helan.security.policy import may_manage_region, may_see_region
from helan.security.principal import Principal
from helan.services.region_plans import is_region_admin
from helan.storage.meta.codes import validate_region

RegionCode = Annotated[
    str, Path(pattern=r"^[0-9]{6}$", description="GB/T 2260 division code, e.g. 640000")
]


async def region_viewer(region: RegionCode, principal: CurrentPrincipal) -> Principal:
    validate_region(region)
    enforce(may_see_region(principal, region))
    return principal


async def region_manager(region: RegionCode, principal: CurrentPrincipal, meta: Meta) -> Principal:
    validate_region(region)

    def decide() -> None:
        granted = lambda user, code: is_region_admin(meta, user, code)  # noqa: E731
        enforce(may_manage_region(principal, region, granted=granted))

    await run_in_threadpool(decide)
    return principal


RegionViewer = Annotated[Principal, Depends(region_viewer)]
RegionManager = Annotated[Principal, Depends(region_manager)]
