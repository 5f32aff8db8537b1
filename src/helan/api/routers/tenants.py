"""Enterprises: platform administrators list and create them; a tenant's admin reads and edits
its own record and audit trail. A suspended tenant's credentials stop working at once."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import APIRouter, Depends, Query

from helan.api.deps import Admin, Meta, Paging, PlatformAdmin, Reader
from helan.api.schemas.common import Page
from helan.api.schemas.tenants import AuditOut, TenantCreate, TenantOut, TenantPatch, TenantStatus
from helan.services import tenants as service

router = APIRouter(prefix="/api/v1/tenants", tags=["tenants"])


@router.get("")
def list_tenants(
    _: PlatformAdmin,
    meta: Meta,
    paging: Annotated[Paging, Depends()],
    status: TenantStatus | None = None,
    q: Annotated[str | None, Query(max_length=200, description="Text in id or name")] = None,
) -> Page[TenantOut]:
    found = service.list_tenants(meta, paging, status=status, q=q)
    items = [TenantOut.model_validate(r) for r in found.rows]
    return Page(items=items, total=found.total, limit=paging.limit, offset=paging.offset)


@router.post("", status_code=201)
def create_tenant(body: TenantCreate, principal: PlatformAdmin, meta: Meta) -> TenantOut:
    row = service.create_tenant(meta, principal, service.NewTenant(**body.model_dump()))
    return TenantOut.model_validate(row)


@router.get("/{tenant}")
def get_tenant(tenant: str, _: Reader, meta: Meta) -> TenantOut:
    return TenantOut.model_validate(service.get_tenant(meta, tenant))


@router.patch("/{tenant}")
def patch_tenant(tenant: str, body: TenantPatch, principal: Admin, meta: Meta) -> TenantOut:
    changes = cast(service.TenantChanges, body.model_dump(exclude_unset=True))
    return TenantOut.model_validate(service.update_tenant(meta, principal, tenant, changes))


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
    found = service.list_audit(meta, tenant, paging, action=action, actor=actor, result=result)
    items = [AuditOut.model_validate(r) for r in found.rows]
    return Page(items=items, total=found.total, limit=paging.limit, offset=paging.offset)
