"""The security officer: a platform account that sees every tenant's security data and nothing
else (no tenant route, no telemetry), and which only a platform administrator grants."""

from __future__ import annotations

from helan.security.policy import (
    may_grant_role,
    may_read,
    may_see_security,
    may_see_tenant,
)
from helan.security.principal import PLATFORM_ROLES, Principal, Role


def exists(tenant: str) -> bool:
    return tenant in {"acme", "bolt"}


def user(role: Role, tenant: str | None = None) -> Principal:
    return Principal(kind="user", subject=role.value, tenant=tenant, role=role)


OFFICER = user(Role.SECURITY_OFFICER)


def test_officer_is_a_platform_role_granted_only_by_platform_admin() -> None:
    assert Role.SECURITY_OFFICER in PLATFORM_ROLES
    assert may_grant_role(user(Role.PLATFORM_ADMIN), Role.SECURITY_OFFICER)
    refused = may_grant_role(user(Role.TENANT_ADMIN, "acme"), Role.SECURITY_OFFICER)
    assert refused.denial == "forbidden"


def test_officer_sees_no_tenant_data() -> None:
    assert may_see_tenant(OFFICER, "acme", tenant_exists=exists).denial == "hidden"
    assert may_read(OFFICER, "acme", "telemetry", tenant_exists=exists).denial == "hidden"


def test_officer_sees_every_tenants_security_data() -> None:
    for tenant in ("acme", "bolt", None):
        assert may_see_security(OFFICER, tenant)
        assert may_see_security(user(Role.PLATFORM_ADMIN), tenant)


def test_tenant_admin_sees_only_its_own_security_data() -> None:
    admin = user(Role.TENANT_ADMIN, "acme")
    assert may_see_security(admin, "acme")
    assert may_see_security(admin, "bolt").denial == "hidden"
    assert may_see_security(admin, None).denial == "hidden"
    assert may_see_security(user(Role.OPERATOR, "acme"), "acme").denial == "forbidden"
    assert may_see_security(user(Role.REGION_VIEWER), "acme").denial == "hidden"


def test_keys_need_the_admin_scope() -> None:
    weak = Principal(
        kind="api_key",
        subject="k",
        tenant="acme",
        role=Role.TENANT_ADMIN,
        scopes=frozenset({"devices:read"}),
    )
    assert may_see_security(weak, "acme").denial == "forbidden"
    strong = Principal(
        kind="api_key",
        subject="k",
        tenant="acme",
        role=Role.TENANT_ADMIN,
        scopes=frozenset({"admin"}),
    )
    assert may_see_security(strong, "acme")
