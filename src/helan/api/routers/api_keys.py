"""API keys: machine credentials of a tenant with explicit scopes, shown once, stored hashed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from helan.api.deps import Admin, Meta, Paging
from helan.api.schemas.api_keys import ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from helan.api.schemas.common import Page
from helan.services import api_keys as service

router = APIRouter(prefix="/api/v1/tenants/{tenant}/api-keys", tags=["api-keys"])


@router.get("")
def list_keys(
    tenant: str,
    _: Admin,
    meta: Meta,
    paging: Annotated[Paging, Depends()],
    active: bool | None = None,
) -> Page[ApiKeyOut]:
    """``active=true``: neither revoked nor expired."""
    found = service.list_keys(meta, tenant, paging, active=active)
    items = [ApiKeyOut.model_validate(r) for r in found.rows]
    return Page(items=items, total=found.total, limit=paging.limit, offset=paging.offset)


@router.post("", status_code=201)
def create_key(tenant: str, body: ApiKeyCreate, principal: Admin, meta: Meta) -> ApiKeyCreated:
    """The key is in this response only; keep it safe."""
    created = service.create_key(
        meta, principal, tenant, name=body.name, scopes=body.scopes, expires_at=body.expires_at
    )
    out = ApiKeyOut.model_validate(created.row)
    return ApiKeyCreated(**out.model_dump(), key=created.key)


@router.get("/{key_id}")
def get_key(tenant: str, key_id: str, _: Admin, meta: Meta) -> ApiKeyOut:
    return ApiKeyOut.model_validate(service.get_key(meta, tenant, key_id))


@router.delete("/{key_id}", status_code=204)
def revoke_key(tenant: str, key_id: str, principal: Admin, meta: Meta) -> Response:
    """Revoke at once (the row stays, for the audit trail); revoking twice is harmless."""
    service.revoke_key(meta, principal, tenant, key_id)
    return Response(status_code=204)
