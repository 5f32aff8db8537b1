"""Subsidy and cloud-voucher schemes and applications.

Region side (``/api/v1/regions/{region}/...``): schemes (listed to the region's viewers,
created by its administrators: overlapping ones refused naming the other), applications with
their evidence, integrity flags, entitlement steps and trail, decisions and payments (the
administrators). Enterprise side (``/api/v1/tenants/{tenant}/region/...``): the schemes open
to it, its own applications (another enterprise's is a 404), submitting (tenant
administrators).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from starlette.concurrency import run_in_threadpool

from helan.api.deps import Admin, Meta, Reader, get_platform
from helan.api.region_deps import RegionCode, RegionManager, RegionViewer
from helan.api.schemas.region import (
    ApplicationDetail,
    ApplicationIn,
    ApplicationOut,
    DecisionIn,
    PaymentIn,
    PaymentOut,
    SchemeIn,
    SchemeOut,
    TrailOut,
)
from helan.platform import Platform
from helan.services import region_schemes as svc
from helan.storage.meta import MetaStore
from helan.storage.meta.models_region import RegionApplication

router = APIRouter(tags=["regions"])
SchemeKey = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
AppKey = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")]
PlatformDep = Annotated[Platform, Depends(get_platform)]
REGION = "/api/v1/regions/{region}"
TENANT = "/api/v1/tenants/{tenant}/region"


def _detail(meta: MetaStore, row: RegionApplication) -> ApplicationDetail:
    return ApplicationDetail(
        **ApplicationOut.model_validate(row).model_dump(),
        trail=[TrailOut.model_validate(t) for t in svc.trail_of(meta, "application", row.id)],
        payments=[PaymentOut.model_validate(p) for p in svc.payments(meta, row.id)],
    )


@router.get(f"{REGION}/schemes", summary="Schemes of the region, above and below it")
async def list_schemes(region: RegionCode, _: RegionViewer, meta: Meta) -> list[SchemeOut]:
    rows = await run_in_threadpool(svc.list_schemes, meta, region)
    return [SchemeOut.model_validate(r) for r in rows]


@router.post(f"{REGION}/schemes", status_code=201, summary="Create a scheme (rules as data)")
async def create_scheme(
    region: RegionCode, body: SchemeIn, principal: RegionManager, meta: Meta
) -> SchemeOut:
    new = svc.NewScheme(
        id=body.id,
        name=body.name,
        kind=body.kind,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        rules=body.rules.model_dump(),
    )
    row = await run_in_threadpool(svc.create_scheme, meta, principal, region, new)
    return SchemeOut.model_validate(row)


@router.get(f"{REGION}/schemes/{{scheme}}", summary="A scheme")
async def get_scheme(
    region: RegionCode, scheme: SchemeKey, _: RegionViewer, meta: Meta
) -> SchemeOut:
    return SchemeOut.model_validate(await run_in_threadpool(svc.get_scheme, meta, region, scheme))


@router.get(f"{REGION}/applications", summary="Applications to the region's schemes")
async def region_applications(
    region: RegionCode,
    _: RegionManager,
    meta: Meta,
    status: Annotated[
        Literal["submitted", "flagged", "approved", "rejected", "paid"] | None, Query()
    ] = None,
) -> list[ApplicationOut]:
    rows = await run_in_threadpool(svc.region_applications, meta, region, status=status)
    return [ApplicationOut.model_validate(r) for r in rows]


@router.get(f"{REGION}/applications/{{application}}", summary="An application in full")
async def region_application(
    region: RegionCode, application: AppKey, _: RegionManager, meta: Meta
) -> ApplicationDetail:
    row = await run_in_threadpool(svc.region_application, meta, region, application)
    return await run_in_threadpool(_detail, meta, row)


@router.post(f"{REGION}/applications/{{application}}/decision", summary="Approve or reject")
async def decide(
    region: RegionCode, application: AppKey, body: DecisionIn, principal: RegionManager, meta: Meta
) -> ApplicationDetail:
    row = await run_in_threadpool(
        lambda: svc.decide(
            meta,
            principal,
            region,
            application,
            approve=body.decision == "approve",
            note=body.note,
        )
    )
    return await run_in_threadpool(_detail, meta, row)


@router.post(
    f"{REGION}/applications/{{application}}/payments",
    status_code=201,
    summary="Record a payment of an approved application",
)
async def pay(
    region: RegionCode, application: AppKey, body: PaymentIn, principal: RegionManager, meta: Meta
) -> PaymentOut:
    row = await run_in_threadpool(
        lambda: svc.pay(
            meta,
            principal,
            region,
            application,
            amount_fen=body.amount_fen,
            reference=body.reference,
        )
    )
    return PaymentOut.model_validate(row)


@router.get(f"{TENANT}/schemes", summary="Schemes open to the enterprise")
async def tenant_schemes(tenant: str, _: Reader, meta: Meta) -> list[SchemeOut]:
    rows = await run_in_threadpool(svc.schemes_for_tenant, meta, tenant)
    return [SchemeOut.model_validate(r) for r in rows]


@router.get(f"{TENANT}/applications", summary="The enterprise's own applications")
async def tenant_applications(tenant: str, _: Reader, meta: Meta) -> list[ApplicationOut]:
    rows = await run_in_threadpool(svc.tenant_applications, meta, tenant)
    return [ApplicationOut.model_validate(r) for r in rows]


@router.post(f"{TENANT}/applications", status_code=201, summary="Apply to a scheme")
async def submit(
    tenant: str, body: ApplicationIn, principal: Admin, platform: PlatformDep
) -> ApplicationDetail:
    """Invoices are checked (totals, year, not claimed before), eligibility and the blacklist
    too; the claim is checked against the platform's data and flagged with the evidence."""
    new = svc.NewApplication(
        scheme=body.scheme,
        year=body.year,
        invoices=[i.model_dump() for i in body.invoices],
        claimed_devices=list(dict.fromkeys(body.claimed_devices)),
    )
    row = await run_in_threadpool(
        svc.submit, platform.meta, platform.telemetry, principal, tenant, new
    )
    return await run_in_threadpool(_detail, platform.meta, row)


@router.get(f"{TENANT}/applications/{{application}}", summary="One of the enterprise's own")
async def tenant_application(
    tenant: str, application: AppKey, _: Reader, meta: Meta
) -> ApplicationDetail:
    row = await run_in_threadpool(svc.tenant_application, meta, tenant, application)
    return await run_in_threadpool(_detail, meta, row)
