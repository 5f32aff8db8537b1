"""Tenant and API key rules without HTTP: field checks for callers without a schema, who may
change what, scopes, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import get_args

import pytest
import sqlalchemy as sa

from helan.api.schemas.api_keys import Scope
from helan.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from helan.core.hashing import token_digest
from helan.security.auth import API_KEY_PREFIX
from helan.security.policy import API_KEY_SCOPES
from helan.security.principal import Principal, Role
from helan.services import api_keys, tenants
from helan.services.paging import Window
from helan.storage.meta import MetaStore
from helan.storage.meta.models import AuditEntry

ADMIN = Principal(kind="user", subject="boss", tenant="acme", role=Role.TENANT_ADMIN)


def test_tenant_fields_are_checked_and_normalised(meta: MetaStore, root: Principal) -> None:
    with pytest.raises(ValidationFailed, match="fails its check character"):
        tenants.create_tenant(
            meta, root, tenants.NewTenant(id="t2", name="x", uscc="91350100M000100Y44")
        )
    with pytest.raises(ValidationFailed, match="invalid tenant id"):
        tenants.create_tenant(meta, root, tenants.NewTenant(id="Bad_Id", name="x"))
    with pytest.raises(ValidationFailed, match="retention_days"):
        tenants.create_tenant(meta, root, tenants.NewTenant(id="t2", name="x", retention_days=0))
    row = tenants.create_tenant(
        meta, root, tenants.NewTenant(id="t2", name="x", uscc="91350100m000100y43")
    )
    assert row.uscc == "91350100M000100Y43"
    with pytest.raises(Conflict, match="already has credit code"):
        tenants.create_tenant(
            meta, root, tenants.NewTenant(id="t3", name="y", uscc="91350100M000100Y43")
        )
    with pytest.raises(Conflict, match="tenant 't2' already exists"):
        tenants.create_tenant(meta, root, tenants.NewTenant(id="t2", name="x"))
    assert [t.id for t in tenants.list_tenants(meta, Window(sort="-id")).rows] == ["t2", "acme"]


def test_only_a_platform_admin_suspends_and_a_refusal_changes_nothing(
    meta: MetaStore, root: Principal
) -> None:
    with pytest.raises(Forbidden, match="only a platform administrator may suspend"):
        tenants.update_tenant(meta, ADMIN, "acme", {"status": "suspended"})
    with pytest.raises(Forbidden, match="identifier prefix"):
        tenants.update_tenant(meta, ADMIN, "acme", {"ident_prefix": "88.1"})
    renamed = tenants.update_tenant(
        meta, ADMIN, "acme", {"name": "Acme Ltd", "retention_days": None}
    )
    assert (renamed.name, renamed.status, renamed.retention_days) == ("Acme Ltd", "active", 365)
    assert tenants.update_tenant(meta, root, "acme", {"status": "suspended"}).status == "suspended"
    with pytest.raises(NotFound, match="tenant 'nope' not found"):
        tenants.update_tenant(meta, root, "nope", {"name": "x"})
    # Newest first; the refusals above were not audited (403 before any change is tried).
    trail = tenants.list_audit(meta, "acme", Window(), action="tenant.update")
    assert [(e.actor, e.result) for e in trail.rows] == [("root", "ok"), ("boss", "ok")]
    [missing] = tenants.list_audit(meta, "nope", Window()).rows
    assert (missing.actor, missing.result) == ("root", "not_found")


def test_scopes_match_the_api_schema() -> None:
    assert set(get_args(Scope)) == API_KEY_SCOPES


def test_key_scopes_and_expiry_are_checked(meta: MetaStore) -> None:
    def create(scopes: list[str], expires_at: datetime | None = None) -> api_keys.Created:
        return api_keys.create_key(
            meta, ADMIN, "acme", name="ci", scopes=scopes, expires_at=expires_at
        )

    with pytest.raises(ValidationFailed, match=r"unknown scope\(s\) everything"):
        create(["devices:read", "everything"])
    with pytest.raises(ValidationFailed, match="give 1 to 5 scopes"):
        create([])
    with pytest.raises(ValidationFailed, match="needs a time zone"):
        create(["admin"], datetime(2099, 1, 1))
    with pytest.raises(ValidationFailed, match="in the past"):
        create(["admin"], datetime.now(UTC) - timedelta(seconds=1))
    with meta.session() as s:
        assert (
            s.scalar(
                sa.select(sa.func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "api_key.create")
            )
            == 0
        )  # refused before anything is written
    created = create(["telemetry:read", "devices:read", "telemetry:read"])
    assert created.row.scopes == ["devices:read", "telemetry:read"]
    assert created.row.created_by == "user:boss"
    assert created.row.key_hash == token_digest(created.key)  # only the digest is stored
    assert created.key.startswith(API_KEY_PREFIX)


def test_revoked_keys_stop_being_active(meta: MetaStore) -> None:
    key = api_keys.create_key(meta, ADMIN, "acme", name="ci", scopes=["admin"])
    api_keys.revoke_key(meta, ADMIN, "acme", key.row.id)
    api_keys.revoke_key(meta, ADMIN, "acme", key.row.id)  # harmless
    assert api_keys.list_keys(meta, "acme", Window(), active=True).total == 0
    assert api_keys.get_key(meta, "acme", key.row.id).revoked_at is not None
    with pytest.raises(NotFound):
        api_keys.get_key(meta, "other", key.row.id)
