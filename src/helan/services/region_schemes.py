"""Subsidy and cloud-voucher schemes, enterprises' applications, entitlements, payments and
their trail. The rules and the arithmetic are :mod:`helan.region.schemes`'; the integrity
checks :mod:`helan.region.integrity`'; here they meet the platform's data.

An application is refused outright when it cannot be right (invoices whose lines disagree
with their totals, an invoice already claimed: named with the earlier application, a
blacklisted enterprise, an ineligible one). When the platform's own data contradicts it
(devices claimed that never connected, synthetic-looking telemetry, devices registered just
before the deadline) it is stored as ``flagged`` with the evidence, for a reviewer.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from helan.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from helan.region import credit as credit_rules
from helan.region import integrity
from helan.region import schemes as rules_mod
from helan.region.divisions import in_region, region_prefix
from helan.region.indicators import PLAN_ZONE
from helan.security.audit import audited
from helan.security.principal import Principal
from helan.storage.meta import MetaStore
from helan.storage.meta.models import Device, DeviceEvent, Tenant
from helan.storage.meta.models_region import (
    RegionApplication,
    RegionCreditRecord,
    RegionInvoice,
    RegionPayment,
    RegionScheme,
    RegionTrail,
)
from helan.storage.telemetry.base import RawQuery, TelemetryStore

SAMPLE_DAYS = 7
SAMPLE_POINTS = 500
MAX_CLAIMED_DEVICES = 200
GRANTED = ("approved", "paid")


def _id() -> str:
    return secrets.token_hex(8)


def trail(s: Session, kind: str, subject: str, actor: str, action: str, **detail: Any) -> None:
    s.add(
        RegionTrail(
            subject_kind=kind, subject_id=subject, actor=actor, action=action, detail=detail
        )
    )


def trail_of(meta: MetaStore, kind: str, subject: str) -> list[RegionTrail]:
    with meta.session() as s:
        return list(
            s.scalars(
                sa.select(RegionTrail)
                .where(RegionTrail.subject_kind == kind, RegionTrail.subject_id == subject)
                .order_by(RegionTrail.id)
            )
        )


# --- schemes ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class NewScheme:
    id: str
    name: str
    kind: str
    valid_from: date
    valid_to: date
    rules: dict[str, Any]


def create_scheme(
    meta: MetaStore, principal: Principal, region: str, new: NewScheme
) -> RegionScheme:
    """A scheme of ``region``; one that would pay for the costs another one pays for (same
    area or nested, intersecting period, a service in common) is refused naming it."""
    if new.kind not in rules_mod.KINDS:
        raise ValidationFailed(f"kind: one of {', '.join(rules_mod.KINDS)}")
    if new.valid_to < new.valid_from:
        raise ValidationFailed("valid_to: before valid_from")
    rules = rules_mod.check_rules(new.rules, region=region)
    with audited(
        meta,
        principal,
        tenant=None,
        action="region.scheme.create",
        object_type="region_scheme",
        object_id=new.id,
        detail={"region": region},
    ) as s:
        if s.get(RegionScheme, new.id) is not None:
            raise Conflict(f"scheme {new.id!r} already exists")
        span = rules_mod.SchemeSpan(
            id=new.id,
            region=region,
            valid_from=new.valid_from,
            valid_to=new.valid_to,
            services=frozenset(rules.eligible_services),
        )
        others = [
            rules_mod.SchemeSpan(
                id=o.id,
                region=o.region,
                valid_from=o.valid_from,
                valid_to=o.valid_to,
                services=frozenset(o.rules["eligible_services"]),
            )
            for o in s.scalars(
                sa.select(RegionScheme).where(RegionScheme.region.startswith(region[:2]))
            )
        ]
        clash = rules_mod.overlap(span, others)
        if clash is not None:
            common = ", ".join(sorted(span.services & clash.services))
            raise Conflict(
                f"scheme overlaps scheme {clash.id!r} of {clash.region} "
                f"({clash.valid_from.isoformat()} to {clash.valid_to.isoformat()}), which "
                f"already pays for {common}"
            )
        row = RegionScheme(
            id=new.id,
            region=region,
            name=new.name,
            kind=new.kind,
            rules=rules.as_json(),
            valid_from=new.valid_from,
            valid_to=new.valid_to,
            created_by=principal.subject,
        )
        s.add(row)
        return row


def list_schemes(meta: MetaStore, region: str) -> list[RegionScheme]:
    """Schemes of ``region``, below and above it."""
    with meta.session() as s:
        rows = s.scalars(sa.select(RegionScheme).order_by(RegionScheme.valid_from, RegionScheme.id))
        return [r for r in rows if in_region(region, r.region) or in_region(r.region, region)]


def get_scheme(meta: MetaStore, region: str, scheme: str) -> RegionScheme:
    with meta.session() as s:
        row = s.get(RegionScheme, scheme)
        if row is None or not (in_region(region, row.region) or in_region(row.region, region)):
            raise NotFound(f"scheme {scheme!r} not found")
        return row


def schemes_for_tenant(meta: MetaStore, tenant: str) -> list[RegionScheme]:
    """The schemes whose area holds the tenant's region."""
    with meta.session() as s:
        t = s.get(Tenant, tenant)
        if t is None or t.region is None:
            return []
        rows = s.scalars(sa.select(RegionScheme).order_by(RegionScheme.valid_from))
        return [r for r in rows if in_region(r.region, t.region)]


# --- applications -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class NewApplication:
    scheme: str
    year: int
    invoices: list[dict[str, Any]]
    claimed_devices: list[str]


def blacklisting(s: Session, tenant: str, now: datetime) -> RegionCreditRecord | None:
    for r in s.scalars(sa.select(RegionCreditRecord).where(RegionCreditRecord.tenant_id == tenant)):
        if credit_rules.blacklisted(credit_record(r), now):
            return r
    return None


def credit_record(r: RegionCreditRecord) -> credit_rules.Record:
    return credit_rules.Record(
        status=r.status,
        respond_by=r.respond_by,
        decision=r.decision,
        decided_at=r.decided_at,
        appeal_decision=r.appeal_decision,
        blacklist=r.blacklist,
        expires_at=r.expires_at,
    )


def _devices_connected(s: Session, tenant: str) -> int:
    return int(
        s.scalar(
            sa.select(sa.func.count(sa.distinct(DeviceEvent.device_id))).where(
                DeviceEvent.tenant_id == tenant, DeviceEvent.event == "device_online"
            )
        )
        or 0
    )


def _evidence(
    s: Session, telemetry: TelemetryStore, tenant: str, claimed: Sequence[str], now: datetime
) -> list[integrity.DeviceEvidence]:
    rows = {
        d.id: d
        for d in s.scalars(
            sa.select(Device).where(Device.tenant_id == tenant, Device.id.in_(claimed))
        )
    }
    first = dict(
        s.execute(
            sa.select(DeviceEvent.device_id, sa.func.min(DeviceEvent.ts))
            .where(
                DeviceEvent.tenant_id == tenant,
                DeviceEvent.event == "device_online",
                DeviceEvent.device_id.in_(claimed),
            )
            .group_by(DeviceEvent.device_id)
        ).all()
    )
    end = int(now.timestamp() * 1000) + 1
    start = end - SAMPLE_DAYS * 86_400_000
    out = []
    for device in claimed:
        row = rows.get(device)
        ev = integrity.DeviceEvidence(
            device=device,
            exists=row is not None,
            created_at=row.created_at if row is not None else None,
            first_online_ms=first.get(device),
        )
        if row is not None:
            latest = telemetry.latest(tenant, [device])
            for metric in sorted(set(latest.column("metric").to_pylist())):
                table = telemetry.raw(
                    RawQuery(
                        tenant=tenant,
                        device=device,
                        metric=metric,
                        start_ms=start,
                        end_ms=end,
                        limit=SAMPLE_POINTS,
                        descending=True,
                    )
                )
                pairs = [
                    (t, v)
                    for t, v in zip(
                        table.column("ts").to_pylist(),
                        table.column("value").to_pylist(),
                        strict=True,
                    )
                    if v is not None
                ]
                pairs.reverse()
                if pairs:
                    ev.samples[metric] = ([t for t, _ in pairs], [float(v) for _, v in pairs])
        out.append(ev)
    return out


def _granted(s: Session, tenant: str, scheme: str, year: int, exclude: str | None) -> int:
    stmt = sa.select(sa.func.coalesce(sa.func.sum(RegionApplication.amount_fen), 0)).where(
        RegionApplication.tenant_id == tenant,
        RegionApplication.scheme_id == scheme,
        RegionApplication.year == year,
        RegionApplication.status.in_(GRANTED),
    )
    if exclude is not None:
        stmt = stmt.where(RegionApplication.id != exclude)
    return int(s.scalar(stmt) or 0)


def _years(s: Session, tenant: str, scheme: str) -> list[int]:
    return list(
        s.scalars(
            sa.select(sa.distinct(RegionApplication.year)).where(
                RegionApplication.tenant_id == tenant,
                RegionApplication.scheme_id == scheme,
                RegionApplication.status.in_(GRANTED),
            )
        )
    )


def _steps_json(steps: Sequence[rules_mod.Step]) -> dict[str, Any]:
    return {
        "steps": [{"step": x.step, "value_fen": x.value_fen, "detail": x.detail} for x in steps],
        "amount_fen": steps[-1].value_fen,
    }


def _invoices(docs: Sequence[dict[str, Any]]) -> list[rules_mod.Invoice]:
    return [
        rules_mod.Invoice(
            number=d["number"],
            issuer=d["issuer"],
            issued_on=date.fromisoformat(d["issued_on"]),
            service=d["service"],
            lines=tuple(int(x["amount_fen"]) for x in d["lines"]),
            total_fen=int(d["total_fen"]),
        )
        for d in docs
    ]


def submit(
    meta: MetaStore,
    telemetry: TelemetryStore,
    principal: Principal,
    tenant: str,
    new: NewApplication,
    *,
    now: datetime | None = None,
) -> RegionApplication:
    now = now or datetime.now(UTC)
    if len(new.claimed_devices) > MAX_CLAIMED_DEVICES:
        raise ValidationFailed(f"claimed_devices: at most {MAX_CLAIMED_DEVICES}")
    invoices = rules_mod.check_invoices(new.invoices, year=new.year)
    app_id = _id()
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="region.application.submit",
        object_type="region_application",
        object_id=app_id,
        detail={"scheme": new.scheme, "year": new.year},
    ) as s:
        t = s.get(Tenant, tenant)
        scheme = s.get(RegionScheme, new.scheme)
        if t is None:
            raise NotFound(f"tenant {tenant!r} not found")
        if scheme is None or t.region is None or not in_region(scheme.region, t.region):
            raise NotFound(f"scheme {new.scheme!r} not found")
        deadline = datetime.combine(scheme.valid_to, time.max, PLAN_ZONE)
        if now > deadline:
            raise ValidationFailed(f"scheme {scheme.id!r} closed on {scheme.valid_to.isoformat()}")
        if not scheme.valid_from.year <= new.year <= scheme.valid_to.year:
            raise ValidationFailed(
                f"year: scheme {scheme.id!r} runs {scheme.valid_from.isoformat()} to "
                f"{scheme.valid_to.isoformat()}"
            )
        black = blacklisting(s, tenant, now)
        if black is not None and black.expires_at is not None:
            raise Forbidden(
                f"enterprise {tenant!r} is on the blacklist until "
                f"{black.expires_at.date().isoformat()} (credit record {black.id}): no new "
                "applications"
            )
        rules = rules_mod.rules_of(scheme.rules)
        connected = _devices_connected(s, tenant)
        problems = rules_mod.eligibility_problems(
            rules,
            scheme_region=scheme.region,
            tenant_region=t.region,
            tenant_industry=t.industry_code,
            devices_connected=connected,
        )
        if problems:
            raise ValidationFailed("not eligible: " + "; ".join(problems))
        for i, inv in enumerate(invoices):
            earlier = s.get(RegionInvoice, (tenant, inv.number))
            if earlier is None:
                continue
            first = s.get(RegionApplication, earlier.application_id)
            if first is not None and first.status != "rejected":
                raise Conflict(
                    f"invoices[{i}]: invoice {inv.number!r} is already claimed by application "
                    f"{first.id} ({first.status}, {first.submitted_at.date().isoformat()})"
                )
            s.delete(earlier)
        s.flush()
        steps = rules_mod.entitlement(
            rules,
            invoices,
            year=new.year,
            granted_this_year_fen=_granted(s, tenant, scheme.id, new.year, None),
            years_claimed=_years(s, tenant, scheme.id),
        )
        evidence = _evidence(s, telemetry, tenant, new.claimed_devices, now)
        findings = integrity.check_claim(evidence, min(now, deadline))
        row = RegionApplication(
            id=app_id,
            scheme_id=scheme.id,
            tenant_id=tenant,
            year=new.year,
            status="flagged" if findings else "submitted",
            services=sorted({i.service for i in invoices}),
            invoices=[_invoice_json(i) for i in invoices],
            claimed_devices=list(new.claimed_devices),
            evidence={
                "devices_connected": connected,
                "devices": [
                    {
                        "device": e.device,
                        "registered": e.exists,
                        "first_online_ms": e.first_online_ms,
                        "metrics_sampled": {m: len(v[1]) for m, v in e.samples.items()},
                    }
                    for e in evidence
                ],
            },
            entitlement=_steps_json(steps),
            amount_fen=steps[-1].value_fen,
            flags=[f.as_json() for f in findings],
            submitted_by=principal.subject,
            submitted_at=now,
        )
        s.add(row)
        s.flush()
        s.add_all(
            RegionInvoice(tenant_id=tenant, number=i.number, application_id=app_id)
            for i in invoices
        )
        trail(
            s,
            "application",
            app_id,
            principal.subject,
            "submitted",
            amount_fen=row.amount_fen,
            invoices=[i.number for i in invoices],
        )
        if findings:
            trail(
                s,
                "application",
                app_id,
                "platform",
                "flagged",
                checks=sorted({f.check for f in findings}),
            )
        return row


def _invoice_json(i: rules_mod.Invoice) -> dict[str, Any]:
    return {
        "number": i.number,
        "issuer": i.issuer,
        "issued_on": i.issued_on.isoformat(),
        "service": i.service,
        "lines": [{"amount_fen": a} for a in i.lines],
        "total_fen": i.total_fen,
    }


def tenant_applications(meta: MetaStore, tenant: str) -> list[RegionApplication]:
    with meta.session() as s:
        return list(
            s.scalars(
                sa.select(RegionApplication)
                .where(RegionApplication.tenant_id == tenant)
                .order_by(RegionApplication.submitted_at.desc())
            )
        )


def tenant_application(meta: MetaStore, tenant: str, app_id: str) -> RegionApplication:
    """Another enterprise's application does not exist for this one (404)."""
    with meta.session() as s:
        row = s.get(RegionApplication, app_id)
        if row is None or row.tenant_id != tenant:
            raise NotFound(f"application {app_id!r} not found")
        return row


def region_applications(
    meta: MetaStore, region: str, *, status: str | None = None
) -> list[RegionApplication]:
    """Applications to the schemes of ``region`` and below it."""
    with meta.session() as s:
        stmt = (
            sa.select(RegionApplication)
            .join(RegionScheme, RegionScheme.id == RegionApplication.scheme_id)
            .where(RegionScheme.region.startswith(region_prefix(region)))
            .order_by(RegionApplication.submitted_at.desc())
        )
        if status is not None:
            stmt = stmt.where(RegionApplication.status == status)
        return list(s.scalars(stmt))


def _region_app(s: Session, region: str, app_id: str) -> RegionApplication:
    row = s.get(RegionApplication, app_id)
    scheme = s.get(RegionScheme, row.scheme_id) if row is not None else None
    if row is None or scheme is None or not in_region(region, scheme.region):
        raise NotFound(f"application {app_id!r} not found")
    return row


def region_application(meta: MetaStore, region: str, app_id: str) -> RegionApplication:
    with meta.session() as s:
        return _region_app(s, region, app_id)


def decide(
    meta: MetaStore,
    principal: Principal,
    region: str,
    app_id: str,
    *,
    approve: bool,
    note: str,
) -> RegionApplication:
    """Approve (the entitlement recomputed against what was granted since) or reject. A
    flagged application is approved only with a note saying why the findings do not hold."""
    with audited(
        meta,
        principal,
        tenant=None,
        action="region.application.decide",
        object_type="region_application",
        object_id=app_id,
        detail={"approve": approve},
    ) as s:
        row = _region_app(s, region, app_id)
        if row.status not in ("submitted", "flagged"):
            raise Conflict(f"application {app_id} is already {row.status}")
        if approve and row.status == "flagged" and not note.strip():
            raise ValidationFailed("note: say why the integrity findings do not hold")
        if approve:
            scheme = s.get(RegionScheme, row.scheme_id)
            assert scheme is not None
            steps = rules_mod.entitlement(
                rules_mod.rules_of(scheme.rules),
                _invoices(row.invoices),
                year=row.year,
                granted_this_year_fen=_granted(s, row.tenant_id, scheme.id, row.year, row.id),
                years_claimed=_years(s, row.tenant_id, scheme.id),
            )
            row.entitlement, row.amount_fen = _steps_json(steps), steps[-1].value_fen
        row.status = "approved" if approve else "rejected"
        row.decided_by, row.decided_at, row.decision_note = (
            principal.subject,
            datetime.now(UTC),
            note,
        )
        trail(
            s,
            "application",
            app_id,
            principal.subject,
            row.status,
            amount_fen=row.amount_fen,
            note=note,
        )
        return row


def pay(
    meta: MetaStore,
    principal: Principal,
    region: str,
    app_id: str,
    *,
    amount_fen: int,
    reference: str,
) -> RegionPayment:
    """Record a payment of an approved application; never more than its entitlement."""
    with audited(
        meta,
        principal,
        tenant=None,
        action="region.application.pay",
        object_type="region_application",
        object_id=app_id,
        detail={"amount_fen": amount_fen},
    ) as s:
        row = _region_app(s, region, app_id)
        if row.status != "approved":
            raise Conflict(f"application {app_id} is {row.status}: only approved ones are paid")
        paid = int(
            s.scalar(
                sa.select(sa.func.coalesce(sa.func.sum(RegionPayment.amount_fen), 0)).where(
                    RegionPayment.application_id == app_id
                )
            )
            or 0
        )
        if paid + amount_fen > row.amount_fen:
            raise ValidationFailed(
                f"amount_fen: {amount_fen} would pay {paid + amount_fen} of an entitlement of "
                f"{row.amount_fen} ({paid} paid)"
            )
        payment = RegionPayment(
            application_id=app_id,
            amount_fen=amount_fen,
            reference=reference,
            paid_by=principal.subject,
        )
        s.add(payment)
        if paid + amount_fen == row.amount_fen:
            row.status = "paid"
        trail(
            s,
            "application",
            app_id,
            principal.subject,
            "paid",
            amount_fen=amount_fen,
            reference=reference,
            total_paid_fen=paid + amount_fen,
        )
        s.flush()
        return payment


def payments(meta: MetaStore, app_id: str) -> list[RegionPayment]:
    with meta.session() as s:
        return list(
            s.scalars(
                sa.select(RegionPayment)
                .where(RegionPayment.application_id == app_id)
                .order_by(RegionPayment.id)
            )
        )
