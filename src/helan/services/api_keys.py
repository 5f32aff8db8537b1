"""API keys: machine credentials of a tenant with explicit scopes, returned once and stored as
a SHA-256 digest. Revoking keeps the row, for the audit trail."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from helan.core.errors import NotFound, ValidationFailed
from helan.core.hashing import new_token, token_digest
from helan.security.audit import audited
from helan.security.auth import API_KEY_PREFIX
from helan.security.policy import API_KEY_SCOPES
from helan.security.principal import Principal
from helan.services.paging import Listing, PageRequest, listing
from helan.storage.meta import MetaStore
from helan.storage.meta.models import ApiKey

MAX_SCOPES = 5
MAX_NAME = 100
SORT = {
    "name": ApiKey.name,
    "created_at": ApiKey.created_at,
    "last_used_at": ApiKey.last_used_at,
    "expires_at": ApiKey.expires_at,
}


@dataclass(frozen=True, slots=True)
class Created:
    """The stored key and the key itself, which exists only here."""

    row: ApiKey
    key: str


def _key(s: Session, tenant: str, key_id: str) -> ApiKey:
    row = s.get(ApiKey, key_id)
    if row is None or row.tenant_id != tenant:
        raise NotFound(f"API key {key_id!r} not found")
    return row


def _check(name: str, scopes: Collection[str], expires_at: datetime | None) -> None:
    if not 1 <= len(name) <= MAX_NAME:
        raise ValidationFailed(f"name must be 1 to {MAX_NAME} characters")
    if not 1 <= len(scopes) <= MAX_SCOPES:
        raise ValidationFailed(f"give 1 to {MAX_SCOPES} scopes, not {len(scopes)}")
    if unknown := sorted(set(scopes) - API_KEY_SCOPES):
        raise ValidationFailed(
            f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(sorted(API_KEY_SCOPES))}"
        )
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise ValidationFailed("expires_at needs a time zone (e.g. 2030-01-01T00:00:00Z)")
        if expires_at <= datetime.now(UTC):
            raise ValidationFailed("expires_at is in the past")


def list_keys(
    meta: MetaStore, tenant: str, paging: PageRequest, *, active: bool | None = None
) -> Listing[ApiKey]:
    """``active=True``: neither revoked nor expired; False: revoked or expired."""
    stmt = sa.select(ApiKey).where(ApiKey.tenant_id == tenant)
    if active is not None:
        live = sa.and_(
            ApiKey.revoked_at.is_(None),
            sa.or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > datetime.now(UTC)),
        )
        stmt = stmt.where(live if active else sa.not_(live))
    return listing(meta, stmt, paging, sort=SORT, default="-created_at", tiebreak=[ApiKey.id])


def create_key(
    meta: MetaStore,
    principal: Principal,
    tenant: str,
    *,
    name: str,
    scopes: Collection[str],
    expires_at: datetime | None = None,
) -> Created:
    """A new key of ``scopes`` (known ones, 1 to 5), never expiring when ``expires_at`` is
    None (else a future, time-zoned instant). The creator is recorded on the key."""
    _check(name, scopes, expires_at)
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
            name=name,
            prefix=key[:10],
            key_hash=token_digest(key),
            scopes=sorted(set(scopes)),
            created_by=f"{principal.kind}:{principal.subject}",
            expires_at=expires_at,
        )
        s.add(row)
        s.flush()
    return Created(row=row, key=key)


def get_key(meta: MetaStore, tenant: str, key_id: str) -> ApiKey:
    with meta.session() as s:
        return _key(s, tenant, key_id)


def revoke_key(meta: MetaStore, principal: Principal, tenant: str, key_id: str) -> None:
    """Revoke at once; revoking twice is harmless."""
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
