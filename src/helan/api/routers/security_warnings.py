"""The regional security platform: warnings and posture.

``/api/v1/security/warnings``: a security officer (or platform administrator) publishes,
lists with every tenant's receipt, and withdraws warnings. ``/api/v1/tenants/{tenant}/
security/warnings``: the warnings that reach a tenant (its readers), and its receipt
(acknowledged, remediating, remediated, not affected: its administrators).
``/api/v1/regions/{region}/security-posture``: counts per industry for region viewers, never
a tenant's name or data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from helan.api.deps import CurrentPrincipal, Meta, enforce, get_auth
from helan.api.schemas.common import Input, Output
from helan.core.errors import NotFound
from helan.security.auth import Authenticator
from helan.security.policy import (
    may_publish_warnings,
    may_read,
    may_see_region,
    may_see_security,
)
from helan.security.principal import Principal
from helan.services import security_warnings as svc
from helan.storage.meta.codes import validate_region
from helan.storage.meta.models_security_warnings import SecurityWarning, SecurityWarningReceipt

router = APIRouter(tags=["security"])

Kind = Literal["vulnerability", "risk"]
Severity = Literal["low", "medium", "high", "critical"]
Status = Literal["acknowledged", "remediating", "remediated", "not_affected"]
RegionCode = Annotated[str, Path(pattern=r"^[0-9]{6}$", description="GB/T 2260 division code")]
WarningId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")]


async def officer(principal: CurrentPrincipal) -> Principal:
    enforce(may_publish_warnings(principal))
    return principal


async def tenant_security_admin(
    tenant: str, principal: CurrentPrincipal, auth: Annotated[Authenticator, Depends(get_auth)]
) -> Principal:
    enforce(may_see_security(principal, tenant))
    if principal.tenant != tenant and not auth.tenant_exists(tenant):
        raise NotFound(f"tenant {tenant!r} not found")
    return principal


async def tenant_reader(
    tenant: str, principal: CurrentPrincipal, auth: Annotated[Authenticator, Depends(get_auth)]
) -> Principal:
    """Warnings are addressed to the whole enterprise: its readers see them too."""
    if may_see_security(principal, tenant):
        return await tenant_security_admin(tenant, principal, auth)
    enforce(may_read(principal, tenant, "admin", tenant_exists=auth.tenant_exists))
    return principal


Officer = Annotated[Principal, Depends(officer)]
TenantAdmin = Annotated[Principal, Depends(tenant_security_admin)]
TenantReader = Annotated[Principal, Depends(tenant_reader)]


class WarningIn(Input):
    kind: Kind
    severity: Severity
    title: str = Field(min_length=1, max_length=300)
    body: str = Field(default="", max_length=20000)
    references: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=100
    )
    industries: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=100
    )
    regions: list[Annotated[str, Field(pattern=r"^[0-9]{6}$")]] = Field(
        default_factory=list, max_length=100
    )
    due_at: datetime | None = None


class ReceiptOut(Output):
    tenant_id: str
    status: Status
    affected_assets: int
    note: str
    acknowledged_by: str
    acknowledged_at: datetime
    remediated_at: datetime | None


class WarningOut(Output):
    id: str
    kind: Kind
    severity: Severity
    title: str
    body: str
    references: list[str]
    industries: list[str]
    regions: list[str]
    due_at: datetime | None
    published_by: str
    published_at: datetime
    withdrawn: bool


class OfficerWarningOut(WarningOut):
    reached: int
    by_status: dict[str, int]
    receipts: list[ReceiptOut]


class TenantWarningOut(WarningOut):
    receipt: ReceiptOut | None


class ReceiptIn(Input):
    status: Status
    affected_assets: int = Field(default=0, ge=0, le=10_000_000)
    note: str = Field(default="", max_length=2000)


class IndustryPostureOut(Output):
    industry: str
    tenants: int
    assets: int
    affected_assets: dict[str, int]
    warnings_open: int
    criticals_past_due: int
    incidents: int
    detections: int


class PostureOut(Output):
    region: str
    industries: list[IndustryPostureOut]


def _warning(w: SecurityWarning) -> dict[str, object]:
    return WarningOut.model_validate(w).model_dump()


@router.post("/api/v1/security/warnings", status_code=201, summary="Publish a warning")
async def publish_warning(body: WarningIn, principal: Officer, meta: Meta) -> WarningOut:
    new = svc.NewWarning(**body.model_dump())
    row = await run_in_threadpool(svc.publish, meta, principal, new)
    return WarningOut.model_validate(row)


@router.get("/api/v1/security/warnings", summary="Every warning with the tenants' receipts")
async def list_warnings(principal: Officer, meta: Meta) -> list[OfficerWarningOut]:
    rows = await run_in_threadpool(svc.officer_view, meta)
    return [
        OfficerWarningOut(
            **_warning(w),
            reached=r.reached,
            by_status=r.by_status,
            receipts=[ReceiptOut.model_validate(x) for x in r.tenants],
        )
        for w, r in rows
    ]


@router.post("/api/v1/security/warnings/{warning}:withdraw", status_code=204)
async def withdraw_warning(warning: WarningId, principal: Officer, meta: Meta) -> None:
    await run_in_threadpool(svc.withdraw, meta, principal, warning)


@router.get("/api/v1/tenants/{tenant}/security/warnings", summary="Warnings reaching a tenant")
async def tenant_warnings(
    tenant: str, principal: TenantReader, meta: Meta
) -> list[TenantWarningOut]:
    rows = await run_in_threadpool(svc.tenant_view, meta, tenant)
    return [TenantWarningOut(**_warning(w), receipt=_receipt(r)) for w, r in rows]


def _receipt(r: SecurityWarningReceipt | None) -> ReceiptOut | None:
    return None if r is None else ReceiptOut.model_validate(r)


@router.put(
    "/api/v1/tenants/{tenant}/security/warnings/{warning}/receipt",
    summary="Acknowledge a warning or report its remediation",
)
async def respond(
    tenant: str, warning: WarningId, body: ReceiptIn, principal: TenantAdmin, meta: Meta
) -> ReceiptOut:
    row = await run_in_threadpool(
        lambda: svc.respond(
            meta,
            principal,
            tenant,
            warning,
            status=body.status,
            affected_assets=body.affected_assets,
            note=body.note,
        )
    )
    return ReceiptOut.model_validate(row)


@router.get("/api/v1/regions/{region}/security-posture", summary="Security posture per industry")
async def security_posture(
    region: RegionCode,
    principal: CurrentPrincipal,
    meta: Meta,
    industry: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
) -> PostureOut:
    """Tenants, assets, affected assets by warning severity, open warnings, criticals past
    due, open alarms and detection alerts (30 days), per industry of the region's tenants."""
    validate_region(region)
    enforce(may_see_region(principal, region))
    rows = await run_in_threadpool(lambda: svc.posture(meta, region, industry=industry))
    return PostureOut(
        region=region, industries=[IndustryPostureOut.model_validate(p) for p in rows]
    )
