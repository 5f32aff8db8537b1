"""Role, tenant, region and app decisions of the one policy, and how each refusal looks."""

from __future__ import annotations

import pytest

from helan.region.divisions import in_region, region_prefix
from helan.security.policy import (
    app_may_act,
    may_admin,
    may_admin_platform,
    may_grant_role,
    may_read,
    may_see_region,
    may_see_tenant,
    may_write,
)
from helan.security.principal import Principal, Role

TENANTS = {"acme", "bolt"}


def exists(tenant: str) -> bool:
    return tenant in TENANTS


def user(role: Role, tenant: str | None = "acme", region: str | None = None) -> Principal:
    return Principal(kind="user", subject=role.value, tenant=tenant, role=role, region=region)


def key(*scopes: str) -> Principal:
    return Principal(
        kind="api_key",
        subject="k1",
        tenant="acme",
        role=Role.VIEWER,
        scopes=frozenset(scopes),
    )


ROOT = user(Role.PLATFORM_ADMIN, tenant=None)
REGULATOR = user(Role.REGION_VIEWER, tenant=None, region="640000")
DEVICE = Principal(kind="device", subject="pump-1", tenant="acme", role=Role.DEVICE)


def test_tenant_visibility() -> None:
    assert may_see_tenant(ROOT, "bolt", tenant_exists=exists)
    ghost = may_see_tenant(ROOT, "ghost", tenant_exists=exists)
    assert (ghost.denial, ghost.reason) == ("hidden", "tenant 'ghost' not found")
    assert may_see_tenant(user(Role.VIEWER), "acme", tenant_exists=exists)
    assert not may_see_tenant(user(Role.TENANT_ADMIN), "bolt", tenant_exists=exists)
    assert may_see_tenant(DEVICE, "acme", tenant_exists=exists)  # but may read nothing there


def test_a_region_viewer_sees_no_tenant_even_one_it_names() -> None:
    # A tenant id on the principal must not open a door for this role.
    odd = user(Role.REGION_VIEWER, tenant="acme", region="640000")
    for principal in (REGULATOR, odd):
        for decide in (may_read, may_write, may_admin):
            d = decide(principal, "acme", "devices", tenant_exists=exists)
            assert (d.denial, d.reason) == ("hidden", "tenant 'acme' not found")


def test_existence_is_asked_only_for_platform_admins() -> None:
    def never(tenant: str) -> bool:
        raise AssertionError("asked")

    assert may_read(user(Role.VIEWER), "acme", "devices", tenant_exists=never)
    assert not may_read(user(Role.VIEWER), "bolt", "devices", tenant_exists=never)


def test_reads() -> None:
    refused = may_read(DEVICE, "acme", "telemetry", tenant_exists=exists)
    assert refused.denial == "forbidden"
    assert refused.reason == "a device credential may only send its own data"
    assert may_read(key("devices:read"), "acme", "devices", tenant_exists=exists)
    narrow = may_read(key("devices:read"), "acme", "telemetry", tenant_exists=exists)
    assert narrow.reason == "API key lacks the scope for this resource (telemetry)"
    assert may_read(user(Role.VIEWER), "acme", "admin", tenant_exists=exists)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.PLATFORM_ADMIN, True),
        (Role.TENANT_ADMIN, True),
        (Role.OPERATOR, True),
        (Role.VIEWER, False),
    ],
)
def test_writes_by_role(role: Role, allowed: bool) -> None:
    principal = user(role, tenant=None if role is Role.PLATFORM_ADMIN else "acme")
    d = may_write(principal, "acme", "devices", tenant_exists=exists)
    assert d.allowed is allowed
    if not allowed:
        assert d.reason == f"role {role.value} may not modify this tenant's objects"


def test_key_writes_need_the_write_scope() -> None:
    writer = Principal(
        kind="api_key",
        subject="k2",
        tenant="acme",
        role=Role.OPERATOR,
        scopes=frozenset({"telemetry:write", "devices:read"}),
    )
    assert may_write(writer, "acme", "telemetry", tenant_exists=exists)
    d = may_write(writer, "acme", "devices", tenant_exists=exists)
    assert (d.denial, d.reason) == (
        "forbidden",
        "API key lacks the write scope for this resource (devices)",
    )


def test_admin() -> None:
    assert may_admin(user(Role.TENANT_ADMIN), "acme", "admin", tenant_exists=exists)
    assert may_admin(ROOT, "acme", "admin", tenant_exists=exists)
    d = may_admin(user(Role.OPERATOR), "acme", "admin", tenant_exists=exists)
    assert (d.denial, d.reason) == ("forbidden", "tenant administrator rights required")
    # An admin-role key without the admin scope reads the family but administers nothing.
    odd = Principal(
        kind="api_key",
        subject="k3",
        tenant="acme",
        role=Role.TENANT_ADMIN,
        scopes=frozenset({"devices:write"}),
    )
    assert not may_admin(odd, "acme", "devices", tenant_exists=exists)
    admin_key = Principal(
        kind="api_key",
        subject="k4",
        tenant="acme",
        role=Role.TENANT_ADMIN,
        scopes=frozenset({"admin"}),
    )
    assert may_admin(admin_key, "acme", "admin", tenant_exists=exists)


def test_platform_admin_and_granting_roles() -> None:
    assert may_admin_platform(ROOT)
    for p in (REGULATOR, user(Role.TENANT_ADMIN), key("admin"), DEVICE):
        d = may_admin_platform(p)
        assert (d.denial, d.reason) == ("forbidden", "platform administrator rights required")
    for role in (Role.PLATFORM_ADMIN, Role.REGION_VIEWER):
        assert may_grant_role(ROOT, role)
        d = may_grant_role(user(Role.TENANT_ADMIN), role)
        assert d.reason == f"only a platform administrator may grant the role {role.value}"
    assert may_grant_role(user(Role.TENANT_ADMIN), Role.OPERATOR)


def test_region_prefix_drops_trailing_zero_pairs() -> None:
    assert region_prefix("640000") == "64"
    assert region_prefix("640100") == "6401"
    assert region_prefix("640122") == "640122"
    assert region_prefix("110000") == "11"
    for bad in ("64", "6400000", "64a000", "６４００００"):
        with pytest.raises(ValueError, match="invalid administrative division code"):
            region_prefix(bad)


def test_in_region() -> None:
    assert in_region("640000", "640104")
    assert in_region("640000", "640000")
    assert in_region("640100", "640104")
    assert not in_region("640100", "640205")
    assert not in_region("640100", "640000")  # a province is not inside its prefecture
    assert not in_region("640000", "650104")
    assert not in_region("640000", None)


def test_region_visibility() -> None:
    assert may_see_region(ROOT, "110000")
    assert may_see_region(REGULATOR, "640000")
    assert may_see_region(REGULATOR, "640104")
    for other in ("650000", "110101"):
        d = may_see_region(REGULATOR, other)
        assert (d.denial, d.reason) == ("hidden", f"region {other!r} not found")
    county = user(Role.REGION_VIEWER, tenant=None, region="640104")
    assert not may_see_region(county, "640000")  # not the province above it
    assert not may_see_region(user(Role.REGION_VIEWER, tenant=None), "640000")  # no region
    for p in (user(Role.TENANT_ADMIN), key("admin"), DEVICE):
        d = may_see_region(p, "640000")
        assert d.denial == "forbidden"
        assert d.reason == "platform administrator or region viewer rights required"


def test_apps_act_only_where_installed() -> None:
    assert app_may_act("quality", "acme", {"acme"})
    d = app_may_act("quality", "bolt", {"acme"})
    assert (d.denial, d.reason) == ("forbidden", "app 'quality' is not installed for tenant 'bolt'")
