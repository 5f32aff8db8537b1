"""Tenants (enterprises) and their audit trail. A suspended tenant's credentials stop working
at once; only a platform administrator suspends, reactivates or sets an identifier prefix.

The field checks repeat the REST schema's so that callers without one (``helan admin``,
apps) cannot store what the API would refuse."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, TypedDict

import sqlalchemy as sa

from helan.core import ids
from helan.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from helan.ident.link.rules import check_prefix, check_tenant_prefix
from helan.region.industries import check_industry
from helan.security.audit import audited
from helan.security.principal import Principal, Role
from helan.services.fields import name
from helan.services.paging import Listing, PageRequest, listing
from helan.storage.meta import MetaStore
from helan.storage.meta.codes import validate_region, validate_uscc
from helan.storage.meta.models import AuditEntry, Tenant
from helan.storage.meta.query import contains

TenantStatus = Literal["active", "suspended"]
STATUSES: frozenset[str] = frozenset({"active", "suspended"})
MAX_RETENTION_DAYS = 36_500

SORT = {
    "id": Tenant.id,
    "name": Tenant.name,
    "created_at": Tenant.created_at,
    "status": Tenant.status,
}
AUDIT_SORT = {"at": AuditEntry.at, "action": AuditEntry.action, "actor": AuditEntry.actor}


@dataclass(frozen=True, slots=True, kw_only=True)
class NewTenant:
    id: str
    name: str
    uscc: str | None = None
    industry: str | None = None
    industry_code: str | None = None
    region: str | None = None
    retention_days: int = 365
    allow_auto_create: bool = False
    ident_prefix: str | None = None


class TenantChanges(TypedDict, total=False):
    """The fields to change; a key left out keeps its value. None clears ``uscc``,
    ``industry``, ``industry_code``, ``region`` and ``ident_prefix`` and leaves the others
    as they are."""

    name: str | None
    uscc: str | None
    industry: str | None
    industry_code: str | None
    region: str | None
    retention_days: int | None
    allow_auto_create: bool | None
    status: TenantStatus | None
    ident_prefix: str | None


# Fields that None leaves unchanged (they cannot be empty).
_REQUIRED = ("name", "retention_days", "allow_auto_create", "status")


def _retention(value: int) -> int:
    if not 1 <= value <= MAX_RETENTION_DAYS:
        raise ValidationFailed(f"retention_days must be 1 to {MAX_RETENTION_DAYS}")
    return value


def _status(value: str) -> str:
    if value not in STATUSES:
        raise ValidationFailed(f"status must be one of {', '.join(sorted(STATUSES))}")
    return value


_CHECKS: Mapping[str, Callable[[Any], Any]] = {
    "id": ids.tenant_id,
    "name": name,
    "uscc": validate_uscc,
    "region": validate_region,
    "industry_code": check_industry,
    "retention_days": _retention,
    "status": _status,
    "ident_prefix": check_prefix,
}


def _checked(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` with each set value passed through its domain check (which may normalise)."""
    return {
        key: value if value is None or key not in _CHECKS else _CHECKS[key](value)
        for key, value in fields.items()
    }


def list_tenants(
    meta: MetaStore, paging: PageRequest, *, status: str | None = None, q: str | None = None
) -> Listing[Tenant]:
    """``q``: text in the id or name."""
    stmt = sa.select(Tenant)
    if status is not None:
        stmt = stmt.where(Tenant.status == status)
    if q:
        stmt = stmt.where(sa.or_(contains(Tenant.id, q), contains(Tenant.name, q)))
    return listing(meta, stmt, paging, sort=SORT, default="id", tiebreak=[Tenant.id])


def create_tenant(meta: MetaStore, principal: Principal, new: NewTenant) -> Tenant:
    fields = _checked(asdict(new))
    with audited(
        meta,
        principal,
        tenant=new.id,
        action="tenant.create",
        object_type="tenant",
        object_id=new.id,
    ) as s:
        if s.get(Tenant, new.id) is not None:
            raise Conflict(f"tenant {new.id!r} already exists")
        uscc = fields["uscc"]
        if uscc and s.scalar(sa.select(Tenant.id).where(Tenant.uscc == uscc)):
            raise Conflict(f"another tenant already has credit code {uscc!r}")
        check_tenant_prefix(s, new.id, fields["ident_prefix"], None)
        row = Tenant(**fields)
        s.add(row)
        s.flush()
        return row


def get_tenant(meta: MetaStore, tenant: str) -> Tenant:
    with meta.session() as s:
        row = s.get(Tenant, tenant)
        if row is None:
            raise NotFound(f"tenant {tenant!r} not found")
        return row


def update_tenant(
    meta: MetaStore, principal: Principal, tenant: str, changes: TenantChanges
) -> Tenant:
    """Refused (403, not audited) when anyone but a platform administrator changes
    ``status`` or ``ident_prefix``."""
    if "status" in changes and principal.role is not Role.PLATFORM_ADMIN:
        raise Forbidden("only a platform administrator may suspend or reactivate a tenant")
    if "ident_prefix" in changes and principal.role is not Role.PLATFORM_ADMIN:
        raise Forbidden("only a platform administrator may set a tenant's identifier prefix")
    fields = _checked(changes)
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="tenant.update",
        object_type="tenant",
        object_id=tenant,
    ) as s:
        row = s.get(Tenant, tenant)
        if row is None:
            raise NotFound(f"tenant {tenant!r} not found")
        uscc = fields.get("uscc")
        if uscc and s.scalar(sa.select(Tenant.id).where(Tenant.uscc == uscc, Tenant.id != tenant)):
            raise Conflict(f"another tenant already has credit code {uscc!r}")
        if "ident_prefix" in fields:
            check_tenant_prefix(s, tenant, fields["ident_prefix"], row.ident_prefix)
        for key, value in fields.items():
            if value is None and key in _REQUIRED:
                continue
            setattr(row, key, value)
        s.flush()
        return row


def list_audit(
    meta: MetaStore,
    tenant: str,
    paging: PageRequest,
    *,
    action: str | None = None,
    actor: str | None = None,
    result: str | None = None,
) -> Listing[AuditEntry]:
    """The tenant's audit trail, newest first by default."""
    stmt = sa.select(AuditEntry).where(AuditEntry.tenant_id == tenant)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if actor:
        stmt = stmt.where(AuditEntry.actor == actor)
    if result:
        stmt = stmt.where(AuditEntry.result == result)
    return listing(
        meta, stmt, paging, sort=AUDIT_SORT, default="-at", tiebreak=[AuditEntry.id.desc()]
    )
