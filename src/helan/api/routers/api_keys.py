"""API keys: machine credentials of a tenant with explicit scopes, shown once, stored hashed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Response
from sqlalchemy.orm import Session

from helan.api.deps import Admin, Meta, Paging
from helan.api.schemas.api_keys import ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from helan.api.schemas.common import Page
from helan.core.errors import NotFound, ValidationFailed
from helan.security.audit import audited
from helan.security.auth import API_KEY_PREFIX
from helan.security.hashing import new_token, token_digest
from helan.storage.meta.models import ApiKey
from helan.storage.meta.query import order_by, page

router = APIRouter(prefix="/api/v1/tenants/{tenant}/api-keys", tags=["api-keys"])

SORT = {
    "name": ApiKey.name,
    "created_at": ApiKey.created_at,
    "last_used_at": ApiKey.last_used_at,
    "expires_at": ApiKey.expires_at,
}


def _key(s: Session, tenant: str, key_id: str) -> ApiKey:
    row = s.get(ApiKey, key_id)
    if row is None or row.tenant_id != tenant:
        raise NotFound(f"API key {key_id!r} not found")
    return row


@router.get("")
def list_keys(
    tenant: str,
    _: Admin,
    meta: Meta,
    paging: Annotated[Paging, Depends()],
    active: bool | None = None,
) -> Page[ApiKeyOut]:
    """``active=true``: neither revoked nor expired."""
    stmt = sa.select(ApiKey).where(ApiKey.tenant_id == tenant)
    if active is not None:
        live = sa.and_(
            ApiKey.revoked_at.is_(None),
            sa.or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > datetime.now(UTC)),
        )
        stmt = stmt.where(live if active else sa.not_(live))
    with meta.session() as s:
        rows, total = page(
            s,
            stmt,
            order=order_by(paging.sort, SORT, "-created_at", [ApiKey.id]),
            limit=paging.limit,
            offset=paging.offset,
        )
        items = [ApiKeyOut.model_validate(r) for r in rows]
    return Page(items=items, total=total, limit=paging.limit, offset=paging.offset)


@router.post("", status_code=201)
def create_key(tenant: str, body: ApiKeyCreate, principal: Admin, meta: Meta) -> ApiKeyCreated:
    """The key is in this response only; keep it safe."""
    expires = body.expires_at
    if expires is not None:
        if expires.tzinfo is None:
            raise ValidationFailed("expires_at needs a time zone (e.g. 2030-01-01T00:00:00Z)")
        if expires <= datetime.now(UTC):
            raise ValidationFailed("expires_at is in the past")
    key = new_token(API_KEY_PREFIX)
    key_id = "ak_" + uuid.uuid4().hex[:16]
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="api_key.create",
        object_type="api_key",
        object_id=key_id,
    ) as s:
        row = ApiKey(
            id=key_id,
            tenant_id=tenant,
            name=body.name,
            prefix=key[:10],
            key_hash=token_digest(key),
            scopes=sorted(set(body.scopes)),
            created_by=f"{principal.kind}:{principal.subject}",
            expires_at=expires,
        )
        s.add(row)
        s.flush()
        out = ApiKeyOut.model_validate(row)
    return ApiKeyCreated(**out.model_dump(), key=key)


@router.get("/{key_id}")
def get_key(tenant: str, key_id: str, _: Admin, meta: Meta) -> ApiKeyOut:
    with meta.session() as s:
        return ApiKeyOut.model_validate(_key(s, tenant, key_id))


@router.delete("/{key_id}", status_code=204)
def revoke_key(tenant: str, key_id: str, principal: Admin, meta: Meta) -> Response:
    """Revoke at once (the row stays, for the audit trail); revoking twice is harmless."""
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="api_key.revoke",
        object_type="api_key",
        object_id=key_id,
    ) as s:
        row = _key(s, tenant, key_id)
        if row.revoked_at is None:
            row.revoked_at = datetime.now(UTC)
    return Response(status_code=204)
