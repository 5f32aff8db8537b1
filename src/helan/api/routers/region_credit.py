"""Enterprise credit records and the blacklist, with due process.

Region side: the administrators record a finding with notice, decide it once the enterprise
responded or its time passed, and decide appeals; ``?blacklisted=true`` lists the records in
force. Enterprise side: its own records (another's: 404), its response and its appeal
(tenant administrators).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool

from helan.api.deps import Admin, Meta, Reader
from helan.api.region_deps import RegionCode, RegionManager
from helan.api.schemas.region import (
    AppealDecisionIn,
    CreditDecisionIn,
    CreditDetail,
    CreditIn,
    CreditOut,
    TextIn,
    TrailOut,
)
from helan.core.errors import NotFound
from helan.services import region_credit as svc
from helan.services.region_schemes import trail_of
from helan.storage.meta import MetaStore
from helan.storage.meta.models_region import RegionCreditRecord

router = APIRouter(tags=["regions"])
RecordKey = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")]
REGION = "/api/v1/regions/{region}/credit"
TENANT = "/api/v1/tenants/{tenant}/region/credit"


def _out(row: RegionCreditRecord) -> CreditOut:
    out = CreditOut.model_validate(row)
    out.blacklisted = svc.is_blacklisted(row)
    return out


def _detail(meta: MetaStore, row: RegionCreditRecord) -> CreditDetail:
    return CreditDetail(
        **_out(row).model_dump(),
        trail=[TrailOut.model_validate(t) for t in trail_of(meta, "credit", row.id)],
    )


@router.get(REGION, summary="Credit records of the region's enterprises")
async def list_records(
    region: RegionCode,
    _: RegionManager,
    meta: Meta,
    blacklisted: Annotated[bool, Query()] = False,
) -> list[CreditOut]:
    rows = await run_in_threadpool(
        lambda: svc.region_records(meta, region, blacklisted_only=blacklisted)
    )
    return [_out(r) for r in rows]


@router.post(REGION, status_code=201, summary="Record a finding and give notice")
async def notice(
    region: RegionCode, body: CreditIn, principal: RegionManager, meta: Meta
) -> CreditDetail:
    new = svc.NewRecord(
        tenant=body.tenant,
        kind=body.kind,
        finding=body.finding,
        evidence=body.evidence,
        blacklist=body.blacklist,
        respond_days=body.respond_days,
    )
    row = await run_in_threadpool(svc.notice, meta, principal, region, new)
    return await run_in_threadpool(_detail, meta, row)


async def _region_record(meta: MetaStore, region: str, record: str) -> RegionCreditRecord:
    rows = await run_in_threadpool(svc.region_records, meta, region)
    for r in rows:
        if r.id == record:
            return r
    raise NotFound(f"credit record {record!r} not found")


@router.get(f"{REGION}/{{record}}", summary="A credit record with its trail")
async def get_record(
    region: RegionCode, record: RecordKey, _: RegionManager, meta: Meta
) -> CreditDetail:
    row = await _region_record(meta, region, record)
    return await run_in_threadpool(_detail, meta, row)


@router.post(f"{REGION}/{{record}}/decision", summary="Decide (after the response or its date)")
async def decide(
    region: RegionCode,
    record: RecordKey,
    body: CreditDecisionIn,
    principal: RegionManager,
    meta: Meta,
) -> CreditDetail:
    row = await run_in_threadpool(
        lambda: svc.decide(
            meta,
            principal,
            region,
            record,
            decision=body.decision,
            note=body.note,
            months=body.months,
        )
    )
    return await run_in_threadpool(_detail, meta, row)


@router.post(f"{REGION}/{{record}}/appeal-decision", summary="Decide the appeal")
async def decide_appeal(
    region: RegionCode,
    record: RecordKey,
    body: AppealDecisionIn,
    principal: RegionManager,
    meta: Meta,
) -> CreditDetail:
    row = await run_in_threadpool(
        lambda: svc.decide_appeal(
            meta, principal, region, record, decision=body.decision, note=body.note
        )
    )
    return await run_in_threadpool(_detail, meta, row)


@router.get(TENANT, summary="The enterprise's own credit records")
async def tenant_records(tenant: str, _: Reader, meta: Meta) -> list[CreditOut]:
    rows = await run_in_threadpool(svc.tenant_records, meta, tenant)
    return [_out(r) for r in rows]


async def _tenant_record(meta: MetaStore, tenant: str, record: str) -> RegionCreditRecord:
    for r in await run_in_threadpool(svc.tenant_records, meta, tenant):
        if r.id == record:
            return r
    raise NotFound(f"credit record {record!r} not found")


@router.get(f"{TENANT}/{{record}}", summary="One of the enterprise's records")
async def tenant_record(tenant: str, record: RecordKey, _: Reader, meta: Meta) -> CreditDetail:
    row = await _tenant_record(meta, tenant, record)
    return await run_in_threadpool(_detail, meta, row)


@router.post(f"{TENANT}/{{record}}/response", summary="Respond to the notice")
async def respond(
    tenant: str, record: RecordKey, body: TextIn, principal: Admin, meta: Meta
) -> CreditDetail:
    row = await run_in_threadpool(svc.respond, meta, principal, tenant, record, body.text)
    return await run_in_threadpool(_detail, meta, row)


@router.post(f"{TENANT}/{{record}}/appeal", summary="Appeal an upheld decision")
async def appeal(
    tenant: str, record: RecordKey, body: TextIn, principal: Admin, meta: Meta
) -> CreditDetail:
    row = await run_in_threadpool(svc.appeal, meta, principal, tenant, record, body.text)
    return await run_in_threadpool(_detail, meta, row)
