"""The security centre's assets and advisories.

Platform-wide: ``/api/v1/security/advisories`` (list, get, import a CSAF document as the
request body, matches across every tenant; KEV import). Advisories are published documents:
any signed-in account may read them; importing and cross-tenant matches are for security
officers and platform administrators (``may_see_security`` without a tenant).

Per tenant: ``/api/v1/tenants/{tenant}/security/assets`` (the inventory), ``.../{device}``
(one asset and its matches) and ``.../security/matches``: a tenant's own readers see their
assets, security officers and platform administrators every tenant's.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from helan.api.deps import CurrentPrincipal, Meta, enforce, get_auth, get_platform
from helan.api.schemas.common import Output
from helan.core.errors import Forbidden, NotFound
from helan.platform import Platform
from helan.security.advisories import store
from helan.security.advisories.matching import Match, summarise
from helan.security.assets.inventory import InventoryAsset
from helan.security.auth import Authenticator
from helan.security.policy import may_read, may_see_security
from helan.security.principal import Principal
from helan.services.security_assets import raise_alerts

router = APIRouter(tags=["security"])
Status = Literal["affected", "needs_review", "fixed", "not_affected"]


async def officer(principal: CurrentPrincipal) -> Principal:
    enforce(may_see_security(principal, None))
    return principal


async def asset_reader(
    tenant: str,
    request: Request,
    principal: CurrentPrincipal,
    auth: Annotated[Authenticator, Depends(get_auth)],
) -> Principal:
    """The tenant's readers, or whoever may see its security data."""
    if not may_see_security(principal, tenant):
        enforce(may_read(principal, tenant, "devices", tenant_exists=auth.tenant_exists))
    elif principal.tenant != tenant and not auth.tenant_exists(tenant):
        raise NotFound(f"tenant {tenant!r} not found")
    return principal


async def signed_in(principal: CurrentPrincipal) -> Principal:
    if principal.kind == "device":
        raise Forbidden("a device credential may only send its own data")
    return principal


Officer = Annotated[Principal, Depends(officer)]
AssetReader = Annotated[Principal, Depends(asset_reader)]
SignedIn = Annotated[Principal, Depends(signed_in)]


class AssetOut(Output):
    device: str
    name: str
    vendor: str | None
    vendor_key: str | None
    vendor_known: bool
    vendor_garbled: bool
    model: str | None
    firmware: str | None
    order_number: str | None
    source: str
    cpe: str | None
    purl: str | None
    worst: Status | None = None
    matches: int = 0


class MatchOut(Output):
    tenant: str
    device: str
    advisory: str
    version: str
    title: str
    status: Status
    cvss: float | None
    severity: str | None
    cves: list[str]
    kev: bool
    products: list[str]
    remediations: list[dict[str, str | None]]
    reasons: list[str]


class AdvisoryOut(Output):
    id: str
    version: str
    title: str
    publisher: str
    status: str
    current_release: str
    max_cvss: float | None
    cves: list[str]
    kev: bool


class AdvisoryDetail(AdvisoryOut):
    versions: list[str]
    notes: list[dict[str, Any]]
    document: dict[str, Any]


class ImportOut(Output):
    id: str
    version: str
    outcome: str
    latest: bool
    alerts: int


def _asset(a: InventoryAsset, found: list[Match]) -> AssetOut:
    mine = [m for m in found if m.device == a.device and m.tenant == a.tenant]
    worst = max(mine, key=lambda m: m.rank).status if mine else None
    return AssetOut(
        device=a.device,
        name=a.name,
        vendor=a.vendor,
        vendor_key=a.vendor_key,
        vendor_known=a.vendor_known,
        vendor_garbled=a.vendor_garbled,
        model=a.model,
        firmware=a.firmware,
        order_number=a.order_number,
        source=a.source,
        cpe=a.cpe,
        purl=a.purl,
        worst=worst,
        matches=sum(1 for m in mine if m.status != "not_affected"),
    )


def _match(m: Match) -> MatchOut:
    return MatchOut(
        tenant=m.tenant,
        device=m.device,
        advisory=m.tracking_id,
        version=m.version,
        title=m.title,
        status=m.status,
        cvss=m.cvss,
        severity=m.severity,
        cves=list(m.cves),
        kev=m.kev,
        products=list(m.products),
        remediations=[dict(r) for r in m.remediations],
        reasons=list(m.reasons),
    )


def _advisory(row: Any, kev: frozenset[str]) -> AdvisoryOut:
    return AdvisoryOut(
        id=row.tracking_id,
        version=row.version,
        title=row.title,
        publisher=row.publisher,
        status=row.status,
        current_release=row.current_release,
        max_cvss=row.max_cvss,
        cves=list(row.cves),
        kev=any(c in kev for c in row.cves),
    )


@router.get("/api/v1/security/advisories", response_model=list[AdvisoryOut])
async def list_advisories(meta: Meta, principal: SignedIn) -> list[AdvisoryOut]:
    rows = await run_in_threadpool(store.list_advisories, meta)
    kev = await run_in_threadpool(store.kev_ids, meta)
    return [_advisory(r, kev) for r in rows]


@router.post("/api/v1/security/advisories", response_model=ImportOut, status_code=201)
async def import_advisory(
    request: Request,
    meta: Meta,
    principal: Officer,
    platform: Annotated[Platform, Depends(get_platform)],
) -> ImportOut:
    """The body is one CSAF 2.0 document (JSON); a new advisory (or a newer version) raises
    ``security_advisory`` events on the devices it affects."""
    body = await request.body()
    got = await run_in_threadpool(store.import_advisory, meta, principal, body, source="api")
    alerts = 0
    if got.latest and got.outcome == "new":
        alerts = await raise_alerts(meta, platform.pipeline, got.tracking_id)
    return ImportOut(
        id=got.tracking_id,
        version=got.version,
        outcome=got.outcome,
        latest=got.latest,
        alerts=alerts,
    )


@router.post("/api/v1/security/kev", status_code=201)
async def import_kev(request: Request, meta: Meta, principal: Officer) -> dict[str, int]:
    body = await request.body()
    return {"entries": await run_in_threadpool(store.import_kev, meta, principal, body)}


@router.get("/api/v1/security/advisories/{advisory}", response_model=AdvisoryDetail)
async def get_advisory(
    advisory: str,
    meta: Meta,
    principal: SignedIn,
    version: Annotated[str | None, Query(max_length=50)] = None,
) -> AdvisoryDetail:
    row = await run_in_threadpool(store.get_advisory, meta, advisory, version)
    kev = await run_in_threadpool(store.kev_ids, meta)
    base = _advisory(row, kev)
    doc = row.document
    notes = doc.get("document", {}).get("notes", []) if isinstance(doc, dict) else []
    return AdvisoryDetail(
        **base.model_dump(),
        versions=await run_in_threadpool(store.versions, meta, advisory),
        notes=notes if isinstance(notes, list) else [],
        document=doc,
    )


@router.get("/api/v1/security/advisories/{advisory}/matches", response_model=list[MatchOut])
async def advisory_matches(
    advisory: str,
    meta: Meta,
    principal: Officer,
    status: Status | None = None,
) -> list[MatchOut]:
    await run_in_threadpool(store.get_advisory, meta, advisory)
    assets = await run_in_threadpool(store.inventory, meta, None)
    found = await run_in_threadpool(
        lambda: store.matches(meta, assets, advisory=advisory, status=status)
    )
    return [_match(m) for m in found]


@router.get("/api/v1/tenants/{tenant}/security/assets")
async def tenant_assets(
    tenant: str,
    meta: Meta,
    principal: AssetReader,
    vendor: Annotated[str | None, Query(max_length=200)] = None,
    status: Status | None = None,
) -> dict[str, Any]:
    """The inventory with each asset's worst match; ``status`` keeps the assets whose worst
    match is that."""
    assets = await run_in_threadpool(lambda: store.inventory(meta, tenant, vendor=vendor))
    found = await run_in_threadpool(store.matches, meta, assets)
    items = [_asset(a, found) for a in assets]
    if status is not None:
        items = [i for i in items if i.worst == status]
    return {"items": [i.model_dump() for i in items], "summary": summarise(found)}


@router.get("/api/v1/tenants/{tenant}/security/assets/{device}")
async def tenant_asset(
    tenant: str, device: str, meta: Meta, principal: AssetReader
) -> dict[str, Any]:
    asset = await run_in_threadpool(store.device_asset, meta, tenant, device)
    found = await run_in_threadpool(store.matches, meta, [asset])
    return {
        "asset": _asset(asset, found).model_dump(),
        "matches": [_match(m).model_dump() for m in found],
    }


@router.get("/api/v1/tenants/{tenant}/security/matches", response_model=list[MatchOut])
async def tenant_matches(
    tenant: str,
    meta: Meta,
    principal: AssetReader,
    status: Status | None = None,
    advisory: Annotated[str | None, Query(max_length=200)] = None,
) -> list[MatchOut]:
    assets = await run_in_threadpool(store.inventory, meta, tenant)
    found = await run_in_threadpool(
        lambda: store.matches(meta, assets, advisory=advisory, status=status)
    )
    return [_match(m) for m in found]
