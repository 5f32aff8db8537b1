"""Enterprises: platform administrators list and create them; a tenant's admin reads and edits
its own record and audit trail. A suspended tenant's credentials stop working at once."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query

from helan.api.deps import Admin, Meta, Paging, PlatformAdmin, Reader
from helan.api.schemas.common import Page
from helan.api.schemas.tenants import AuditOut, TenantCreate, TenantOut, TenantPatch, TenantStatus
from helan.core.errors import Conflict, Forbidden, NotFound
from helan.ident.link.rules import check_tenant_prefix
from helan.security.audit import audited
from helan.security.principal import Role
from helan.storage.meta.models import AuditEntry, Tenant
from helan.storage.meta.query import contains, order_by, page

router = APIRouter(prefix="/api/v1/tenants", tags=["tenants"])

SORT = {
    "id": Tenant.id,
    "name": Tenant.name,
    "created_at": Tenant.created_at,
    "status": Tenant.status,
}
AUDIT_SORT = {"at": AuditEntry.at, "action": AuditEntry.action, "actor": AuditEntry.actor}


@router.get("")
def list_tenants(
    _: PlatformAdmin,
    meta: Meta,
    paging: Annotated[Paging, Depends()],
    status: TenantStatus | None = None,
    q: Annotated[str | None, Query(max_length=200, description="Text in id or name")] = None,
) -> Page[TenantOut]:
    stmt = sa.select(Tenant)
    if status is not None:
        stmt = stmt.where(Tenant.status == status)
    if q:
        stmt = stmt.where(sa.or_(contains(Tenant.id, q), contains(Tenant.name, q)))
    with meta.session() as s:
        rows, total = page(
            s,
            stmt,
            order=order_by(paging.sort, SORT, "id", [Tenant.id]),
            limit=paging.limit,
            offset=paging.offset,
        )
        items = [TenantOut.model_validate(r) for r in rows]
    return Page(items=items, total=total, limit=paging.limit, offset=paging.offset)


@router.post("", status_code=201)
def create_tenant(body: TenantCreate, principal: PlatformAdmin, meta: Meta) -> TenantOut:
    with audited(
        meta,
        principal,
        tenant=body.id,
        action="tenant.create",
        object_type="tenant",
        object_id=body.id,
    ) as s:
        if s.get(Tenant, body.id) is not None:
            raise Conflict(f"tenant {body.id!r} already exists")
        if body.uscc and s.scalar(sa.select(Tenant.id).where(Tenant.uscc == body.uscc)):
            raise Conflict(f"another tenant already has credit code {body.uscc!r}")
        check_tenant_prefix(s, body.id, body.ident_prefix, None)
        tenant = Tenant(**body.model_dump())
        s.add(tenant)
        s.flush()
        return TenantOut.model_validate(tenant)


@router.get("/{tenant}")
def get_tenant(tenant: str, _: Reader, meta: Meta) -> TenantOut:
    with meta.session() as s:
        row = s.get(Tenant, tenant)
        if row is None:
            raise NotFound(f"tenant {tenant!r} not found")
        return TenantOut.model_validate(row)


@router.patch("/{tenant}")
def patch_tenant(tenant: str, body: TenantPatch, principal: Admin, meta: Meta) -> TenantOut:
    changes = body.model_dump(exclude_unset=True)
    if "status" in changes and principal.role is not Role.PLATFORM_ADMIN:
        raise Forbidden("only a platform administrator may suspend or reactivate a tenant")
    if "ident_prefix" in changes and principal.role is not Role.PLATFORM_ADMIN:
        raise Forbidden("only a platform administrator may set a tenant's identifier prefix")
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
        uscc = changes.get("uscc")
        if uscc and s.scalar(sa.select(Tenant.id).where(Tenant.uscc == uscc, Tenant.id != tenant)):
            raise Conflict(f"another tenant already has credit code {uscc!r}")
        if "ident_prefix" in changes:
            check_tenant_prefix(s, tenant, changes["ident_prefix"], row.ident_prefix)
        for key, value in changes.items():
            if value is None and key in ("name", "retention_days", "allow_auto_create", "status"):
                continue
            setattr(row, key, value)
        s.flush()
        return TenantOut.model_validate(row)


@router.get("/{tenant}/audit")
def list_audit(
    tenant: str,
    _: Admin,
    meta: Meta,
    paging: Annotated[Paging, Depends()],
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    result: Annotated[str | None, Query(max_length=32)] = None,
) -> Page[AuditOut]:
    """The tenant's audit trail, newest first by default."""
    stmt = sa.select(AuditEntry).where(AuditEntry.tenant_id == tenant)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if actor:
        stmt = stmt.where(AuditEntry.actor == actor)
    if result:
        stmt = stmt.where(AuditEntry.result == result)
    with meta.session() as s:
        rows, total = page(
            s,
            stmt,
            order=order_by(paging.sort, AUDIT_SORT, "-at", [AuditEntry.id.desc()]),
            limit=paging.limit,
            offset=paging.offset,
        )
        items = [AuditOut.model_validate(r) for r in rows]
    return Page(items=items, total=total, limit=paging.limit, offset=paging.offset)
