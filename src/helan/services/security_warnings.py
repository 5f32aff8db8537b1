"""The regional security platform: warnings published to tenants by industry and region, each
tenant's acknowledgement and remediation, and the posture of a region's industries.

A warning reaches a tenant when the tenant's industry is one of the warning's (or it names
none) and the tenant's region lies in one of its regions (or it names none). The posture is
counts per industry over the tenants of a region, never a tenant's name, id or objects: a
region viewer learns how an industry stands, not which enterprise lags.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from helan.core.errors import NotFound, ValidationFailed
from helan.region.divisions import in_region, region_prefix
from helan.security.audit import audited
from helan.security.principal import Principal
from helan.storage.meta import MetaStore
from helan.storage.meta.codes import validate_region
from helan.storage.meta.models import Device, DeviceEvent, Tenant
from helan.storage.meta.models_alarms import Alarm
from helan.storage.meta.models_security_warnings import SecurityWarning, SecurityWarningReceipt

KINDS = ("vulnerability", "risk")  # 漏洞预警, 风险通报
SEVERITIES = ("low", "medium", "high", "critical")
STATUSES = ("acknowledged", "remediating", "remediated", "not_affected")
SECURITY_ANOMALY = "security_anomaly"
DETECTION_DAYS = 30


@dataclass(frozen=True, slots=True, kw_only=True)
class NewWarning:
    kind: str
    severity: str
    title: str
    body: str
    references: Sequence[str] = ()
    industries: Sequence[str] = ()
    regions: Sequence[str] = ()
    due_at: datetime | None = None


@dataclass(slots=True, kw_only=True)
class Receipts:
    """How the tenants a warning reaches answered (counts, and for the officer the rows)."""

    reached: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    tenants: list[SecurityWarningReceipt] = field(default_factory=list)


def _check(new: NewWarning) -> None:
    if new.kind not in KINDS:
        raise ValidationFailed(f"kind must be one of {', '.join(KINDS)}, not {new.kind!r}")
    if new.severity not in SEVERITIES:
        raise ValidationFailed(f"severity must be one of {', '.join(SEVERITIES)}")
    if not 0 < len(new.title.strip()) <= 300:
        raise ValidationFailed("title needs 1 to 300 characters")
    if len(new.body) > 20000:
        raise ValidationFailed("body is limited to 20,000 characters")
    for region in new.regions:
        validate_region(region)
    if any(not 0 < len(i) <= 100 for i in new.industries) or len(new.references) > 100:
        raise ValidationFailed("industries need 1 to 100 characters; at most 100 references")
    if new.due_at is not None and new.due_at.utcoffset() is None:
        raise ValidationFailed("due_at needs a UTC offset (e.g. 2030-01-01T00:00:00Z)")


def reaches(warning: SecurityWarning, industry: str | None, region: str | None) -> bool:
    """Whether ``warning`` is addressed to a tenant of ``industry`` in ``region``."""
    if warning.withdrawn:
        return False
    if warning.industries and industry not in warning.industries:
        return False
    return not warning.regions or any(in_region(r, region) for r in warning.regions)


def publish(meta: MetaStore, principal: Principal, new: NewWarning) -> SecurityWarning:
    """Store and address a warning; the caller has checked ``may_publish_warnings``."""
    _check(new)
    warning_id = secrets.token_hex(8)
    with audited(
        meta,
        principal,
        tenant=None,
        action="security_warning.publish",
        object_type="security_warning",
        object_id=warning_id,
        detail={"severity": new.severity, "industries": list(new.industries)},
    ) as s:
        row = SecurityWarning(
            id=warning_id,
            kind=new.kind,
            severity=new.severity,
            title=new.title.strip(),
            body=new.body,
            references=list(new.references),
            industries=sorted(set(new.industries)),
            regions=sorted(set(new.regions)),
            due_at=new.due_at,
            published_by=principal.subject,
            withdrawn=False,
        )
        s.add(row)
        s.flush()
        return row


def withdraw(meta: MetaStore, principal: Principal, warning_id: str) -> None:
    with audited(
        meta,
        principal,
        tenant=None,
        action="security_warning.withdraw",
        object_type="security_warning",
        object_id=warning_id,
    ) as s:
        row = s.get(SecurityWarning, warning_id)
        if row is None:
            raise NotFound(f"warning {warning_id!r} not found")
        row.withdrawn = True


def officer_view(meta: MetaStore) -> list[tuple[SecurityWarning, Receipts]]:
    """Every warning, newest first, with the tenants it reaches and their receipts."""
    with meta.session() as s:
        warnings = list(
            s.scalars(sa.select(SecurityWarning).order_by(SecurityWarning.published_at.desc()))
        )
        tenants = list(s.execute(sa.select(Tenant.id, Tenant.industry, Tenant.region)))
        receipts: dict[str, list[SecurityWarningReceipt]] = {}
        for r in s.scalars(
            sa.select(SecurityWarningReceipt).order_by(SecurityWarningReceipt.tenant_id)
        ):
            receipts.setdefault(r.warning_id, []).append(r)
        s.expunge_all()
    out = []
    for w in warnings:
        rows = receipts.get(w.id, [])
        by_status: dict[str, int] = {}
        for r in rows:
            by_status[r.status] = by_status.get(r.status, 0) + 1
        reached = sum(1 for _, industry, region in tenants if reaches(w, industry, region))
        out.append((w, Receipts(reached=reached, by_status=by_status, tenants=rows)))
    return out


def _tenant(s: Session, tenant: str) -> Tenant:
    row = s.get(Tenant, tenant)
    if row is None:
        raise NotFound(f"tenant {tenant!r} not found")
    return row


def tenant_view(
    meta: MetaStore, tenant: str
) -> list[tuple[SecurityWarning, SecurityWarningReceipt | None]]:
    """The warnings that reach ``tenant``, newest first, each with its receipt (or None)."""
    with meta.session() as s:
        t = _tenant(s, tenant)
        warnings = [
            w
            for w in s.scalars(
                sa.select(SecurityWarning).order_by(SecurityWarning.published_at.desc())
            )
            if reaches(w, t.industry, t.region)
        ]
        receipts = {
            r.warning_id: r
            for r in s.scalars(
                sa.select(SecurityWarningReceipt).where(SecurityWarningReceipt.tenant_id == tenant)
            )
        }
        s.expunge_all()
    return [(w, receipts.get(w.id)) for w in warnings]


def respond(
    meta: MetaStore,
    principal: Principal,
    tenant: str,
    warning_id: str,
    *,
    status: str,
    affected_assets: int = 0,
    note: str = "",
) -> SecurityWarningReceipt:
    """Acknowledge a warning or report its remediation. A warning that does not reach the
    tenant does not exist for it (404)."""
    if status not in STATUSES:
        raise ValidationFailed(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    if not 0 <= affected_assets <= 10_000_000 or len(note) > 2000:
        raise ValidationFailed("affected_assets 0 to 10,000,000; note at most 2,000 characters")
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="security_warning.respond",
        object_type="security_warning",
        object_id=warning_id,
        detail={"status": status, "affected_assets": affected_assets},
    ) as s:
        t = _tenant(s, tenant)
        warning = s.get(SecurityWarning, warning_id)
        if warning is None or not reaches(warning, t.industry, t.region):
            raise NotFound(f"warning {warning_id!r} not found")
        row = s.get(SecurityWarningReceipt, (warning_id, tenant))
        now = datetime.now(UTC)
        if row is None:
            row = SecurityWarningReceipt(
                warning_id=warning_id, tenant_id=tenant, acknowledged_by=principal.subject
            )
            s.add(row)
        row.status = status
        row.affected_assets = affected_assets
        row.note = note
        row.remediated_at = now if status in ("remediated", "not_affected") else None
        s.flush()
        s.expunge(row)
        return row


@dataclass(slots=True, kw_only=True)
class IndustryPosture:
    industry: str  # "" for tenants without one
    tenants: int = 0
    assets: int = 0  # devices
    affected_assets: dict[str, int] = field(default_factory=dict)  # warning severity -> assets
    warnings_open: int = 0  # (warning, tenant) pairs not remediated
    criticals_past_due: int = 0  # of them: critical and past their due date
    incidents: int = 0  # open alarms
    detections: int = 0  # security_anomaly events of the last DETECTION_DAYS days


def posture(
    meta: MetaStore, region: str, *, industry: str | None = None, now: datetime | None = None
) -> list[IndustryPosture]:
    """Per industry, over the tenants of ``region`` (and ``industry`` alone when given)."""
    now = now or datetime.now(UTC)
    prefix = region_prefix(region)
    with meta.session() as s:
        where = Tenant.region.startswith(prefix)
        if industry is not None:
            where = sa.and_(where, Tenant.industry == industry)
        tenants = {
            t: (ind or "", reg)
            for t, ind, reg in s.execute(
                sa.select(Tenant.id, Tenant.industry, Tenant.region).where(where)
            )
        }
        out: dict[str, IndustryPosture] = {}
        for ind, _ in tenants.values():
            out.setdefault(ind, IndustryPosture(industry=ind)).tenants += 1
        ids = list(tenants)
        _add_counts(s, out, tenants, ids, now)
        warnings = list(
            s.scalars(sa.select(SecurityWarning).where(SecurityWarning.withdrawn.is_(False)))
        )
        receipts = {
            (r.warning_id, r.tenant_id): r
            for r in s.scalars(
                sa.select(SecurityWarningReceipt).where(SecurityWarningReceipt.tenant_id.in_(ids))
            )
        }
    for tenant, (ind, reg) in tenants.items():
        figures = out[ind]
        for w in warnings:
            if not reaches(w, ind or None, reg):
                continue
            r = receipts.get((w.id, tenant))
            if r is not None and r.status not in ("remediated", "not_affected"):
                figures.affected_assets[w.severity] = (
                    figures.affected_assets.get(w.severity, 0) + r.affected_assets
                )
            if r is None or r.status not in ("remediated", "not_affected"):
                figures.warnings_open += 1
                due = (
                    w.due_at
                    if w.due_at is None or w.due_at.tzinfo
                    else w.due_at.replace(tzinfo=UTC)
                )
                if w.severity == "critical" and due is not None and due < now:
                    figures.criticals_past_due += 1
    return sorted(out.values(), key=lambda p: p.industry)


def _add_counts(
    s: Session,
    out: dict[str, IndustryPosture],
    tenants: dict[str, tuple[str, str | None]],
    ids: list[str],
    now: datetime,
) -> None:
    since = int((now - timedelta(days=DETECTION_DAYS)).timestamp() * 1000)
    queries = (
        (
            "assets",
            sa.select(Device.tenant_id, sa.func.count())
            .where(Device.tenant_id.in_(ids))
            .group_by(Device.tenant_id),
        ),
        (
            "incidents",
            sa.select(Alarm.tenant_id, sa.func.count())
            .where(Alarm.tenant_id.in_(ids), Alarm.open)
            .group_by(Alarm.tenant_id),
        ),
        (
            "detections",
            sa.select(DeviceEvent.tenant_id, sa.func.count())
            .where(
                DeviceEvent.tenant_id.in_(ids),
                DeviceEvent.event == SECURITY_ANOMALY,
                DeviceEvent.ts >= since,
            )
            .group_by(DeviceEvent.tenant_id),
        ),
    )
    for name, query in queries:
        for tenant, n in s.execute(query):
            figures = out[tenants[tenant][0]]
            setattr(figures, name, getattr(figures, name) + int(n))
