"""Enterprise credit records with due process (:mod:`helan.region.credit`), stored, audited
and trailed; the enterprise sees and answers its own, the region's administrators record and
decide them."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from helan.core.errors import NotFound, ValidationFailed
from helan.region import credit as rules
from helan.region.divisions import in_region, region_prefix
from helan.security.audit import audited
from helan.security.principal import Principal
from helan.services.region_schemes import credit_record, trail
from helan.storage.meta import MetaStore
from helan.storage.meta.models import Tenant
from helan.storage.meta.models_region import RegionCreditRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class NewRecord:
    tenant: str
    kind: str
    finding: str
    evidence: dict[str, Any]
    blacklist: bool
    respond_days: int


def _apply(row: RegionCreditRecord, record: rules.Record) -> None:
    row.status, row.decision, row.decided_at = record.status, record.decision, record.decided_at
    row.appeal_decision, row.expires_at = record.appeal_decision, record.expires_at


def notice(
    meta: MetaStore, principal: Principal, region: str, new: NewRecord
) -> RegionCreditRecord:
    """Record a finding about an enterprise of ``region`` and give it notice."""
    if new.kind not in rules.KINDS:
        raise ValidationFailed(f"kind: one of {', '.join(rules.KINDS)}")
    if not 1 <= new.respond_days <= 90:
        raise ValidationFailed("respond_days: 1 to 90 days to respond")
    record_id = secrets.token_hex(8)
    now = datetime.now(UTC)
    with audited(
        meta,
        principal,
        tenant=new.tenant,
        action="region.credit.notice",
        object_type="region_credit",
        object_id=record_id,
        detail={"kind": new.kind, "blacklist": new.blacklist},
    ) as s:
        t = s.get(Tenant, new.tenant)
        if t is None or not in_region(region, t.region):
            raise NotFound(f"enterprise {new.tenant!r} not found in region {region!r}")
        row = RegionCreditRecord(
            id=record_id,
            tenant_id=new.tenant,
            region=region,
            kind=new.kind,
            finding=new.finding,
            evidence=new.evidence,
            blacklist=new.blacklist,
            status="noticed",
            noticed_at=now,
            respond_by=now + timedelta(days=new.respond_days),
            created_by=principal.subject,
        )
        s.add(row)
        trail(
            s,
            "credit",
            record_id,
            principal.subject,
            "noticed",
            respond_by=row.respond_by.isoformat(),
        )
        return row


def _step(
    meta: MetaStore,
    principal: Principal,
    record_id: str,
    action: str,
    find: Callable[[Session], RegionCreditRecord],
    change: Callable[[RegionCreditRecord, rules.Record, datetime], dict[str, Any]],
) -> RegionCreditRecord:
    now = datetime.now(UTC)
    with audited(
        meta,
        principal,
        tenant=None,
        action=f"region.credit.{action}",
        object_type="region_credit",
        object_id=record_id,
    ) as s:
        row = find(s)
        record = credit_record(row)
        detail = change(row, record, now)
        _apply(row, record)
        trail(s, "credit", record_id, principal.subject, action, **detail)
        return row


def _in_region(region: str, record_id: str) -> Callable[[Session], RegionCreditRecord]:
    def find(s: Session) -> RegionCreditRecord:
        row = s.get(RegionCreditRecord, record_id)
        if row is None or not in_region(region, row.region):
            raise NotFound(f"credit record {record_id!r} not found")
        return row

    return find


def _of_tenant(tenant: str, record_id: str) -> Callable[[Session], RegionCreditRecord]:
    def find(s: Session) -> RegionCreditRecord:
        row = s.get(RegionCreditRecord, record_id)
        if row is None or row.tenant_id != tenant:
            raise NotFound(f"credit record {record_id!r} not found")
        return row

    return find


def respond(
    meta: MetaStore, principal: Principal, tenant: str, record_id: str, text: str
) -> RegionCreditRecord:
    def change(row: RegionCreditRecord, r: rules.Record, now: datetime) -> dict[str, Any]:
        rules.respond(r, now)
        row.response, row.responded_at = text, now
        return {"response": text}

    return _step(meta, principal, record_id, "responded", _of_tenant(tenant, record_id), change)


def decide(
    meta: MetaStore,
    principal: Principal,
    region: str,
    record_id: str,
    *,
    decision: str,
    note: str,
    months: int,
) -> RegionCreditRecord:
    def change(row: RegionCreditRecord, r: rules.Record, now: datetime) -> dict[str, Any]:
        rules.decide(r, decision, months, now)
        row.decision_note = note
        return {
            "decision": decision,
            "note": note,
            "expires_at": r.expires_at.isoformat() if r.expires_at else None,
        }

    return _step(meta, principal, record_id, "decided", _in_region(region, record_id), change)


def appeal(
    meta: MetaStore, principal: Principal, tenant: str, record_id: str, text: str
) -> RegionCreditRecord:
    def change(row: RegionCreditRecord, r: rules.Record, now: datetime) -> dict[str, Any]:
        rules.appeal(r, now)
        row.appeal, row.appealed_at = text, now
        return {"appeal": text}

    return _step(meta, principal, record_id, "appealed", _of_tenant(tenant, record_id), change)


def decide_appeal(
    meta: MetaStore, principal: Principal, region: str, record_id: str, *, decision: str, note: str
) -> RegionCreditRecord:
    def change(row: RegionCreditRecord, r: rules.Record, now: datetime) -> dict[str, Any]:
        rules.decide_appeal(r, decision)
        row.appeal_decided_at = now
        return {"decision": decision, "note": note}

    return _step(
        meta, principal, record_id, "appeal_decided", _in_region(region, record_id), change
    )


def region_records(
    meta: MetaStore, region: str, *, blacklisted_only: bool = False
) -> list[RegionCreditRecord]:
    now = datetime.now(UTC)
    with meta.session() as s:
        rows = list(
            s.scalars(
                sa.select(RegionCreditRecord)
                .where(RegionCreditRecord.region.startswith(region_prefix(region)))
                .order_by(RegionCreditRecord.noticed_at.desc())
            )
        )
    if blacklisted_only:
        rows = [r for r in rows if rules.blacklisted(credit_record(r), now)]
    return rows


def tenant_records(meta: MetaStore, tenant: str) -> list[RegionCreditRecord]:
    with meta.session() as s:
        return list(
            s.scalars(
                sa.select(RegionCreditRecord)
                .where(RegionCreditRecord.tenant_id == tenant)
                .order_by(RegionCreditRecord.noticed_at.desc())
            )
        )


def is_blacklisted(row: RegionCreditRecord) -> bool:
    return rules.blacklisted(credit_record(row), datetime.now(UTC))
