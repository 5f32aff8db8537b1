"""Region viewers through the users API: only platform administrators make them, they need a
valid region, and no other account carries one. Driven through the real app and auth."""

from __future__ import annotations

from typing import Any

import pytest
from meta_world import PASSWORD, Api, bearer

from helan.core.errors import Forbidden
from helan.security.principal import Principal, Role
from helan.services import users

PLATFORM = "/api/v1/users"


def _post(api: Api, url: str, headers: dict[str, str], **body: Any) -> tuple[int, dict[str, Any]]:
    r = api.client.post(url, headers=headers, json={"password": PASSWORD, **body})
    return r.status_code, r.json()


def _refused(status: int, body: dict[str, Any], expected: int, text: str) -> None:
    assert status == expected, body
    assert text in body["error"]["message"], body


def _tenant(api: Api, tenant: str, region: str) -> dict[str, str]:
    """A tenant in ``region`` and the headers of its administrator."""
    root = api.as_admin()
    api.ok("POST", "/api/v1/tenants", root, json={"id": tenant, "name": tenant, "region": region})
    body = {"username": f"{tenant}-admin", "password": PASSWORD, "role": "tenant_admin"}
    api.ok("POST", f"/api/v1/tenants/{tenant}/users", root, json=body)
    return bearer(api.login(f"{tenant}-admin"))


def test_platform_admin_creates_a_region_viewer(api: Api) -> None:
    root = api.as_admin()
    status, made = _post(
        api, PLATFORM, root, username="nx-reg", role="region_viewer", region="640000"
    )
    assert status == 201, made
    assert (made["role"], made["region"], made["tenant_id"]) == ("region_viewer", "640000", None)
    viewer = bearer(api.login("nx-reg"))
    me = api.ok("GET", "/api/v1/auth/me", viewer)
    assert (me["role"], me["tenant"]) == ("region_viewer", None)
    # Its region comes from its account: its own region answers, another does not exist.
    assert api.client.get("/api/v1/regions/640000/summary", headers=viewer).status_code == 200
    assert api.client.get("/api/v1/regions/650000/summary", headers=viewer).status_code == 404
    listed = api.ok("GET", f"{PLATFORM}?role=region_viewer", root)
    assert [u["username"] for u in listed["items"]] == ["nx-reg"]
    assert {u["username"] for u in api.ok("GET", PLATFORM, root)["items"]} == {"admin", "nx-reg"}


def test_region_rules_on_create(api: Api) -> None:
    root = api.as_admin()
    status, body = _post(api, PLATFORM, root, username="no-region", role="region_viewer")
    _refused(status, body, 422, "a region viewer needs a region")
    for bad in ("990000", "64000", "abcdef"):
        status, body = _post(
            api, PLATFORM, root, username="bad-region", role="region_viewer", region=bad
        )
        assert status == 422, body
        assert body["error"]["code"] == "invalid"
    status, body = _post(
        api, PLATFORM, root, username="root2", role="platform_admin", region="640000"
    )
    _refused(status, body, 422, "only a region viewer has a region; role platform_admin has none")
    status, body = _post(api, PLATFORM, root, username="lost", role="viewer")
    _refused(status, body, 422, "role viewer belongs to a tenant")
    assert api.client.get(f"{PLATFORM}/no-region", headers=root).status_code == 404


def test_tenant_routes_make_no_platform_accounts(api: Api) -> None:
    root, admin = api.as_admin(), _tenant(api, "acme", "640104")
    base = "/api/v1/tenants/acme/users"
    for headers in (root, admin):
        status, body = _post(
            api, base, headers, username="sneaky", role="region_viewer", region="640000"
        )
        _refused(status, body, 422, "role region_viewer belongs to no tenant")
    status, body = _post(api, base, admin, username="op-1", role="operator", region="640104")
    _refused(status, body, 422, "only a region viewer has a region; role operator has none")
    # Platform accounts are the platform administrator's; they do not exist under a tenant.
    status, body = _post(
        api, PLATFORM, admin, username="x-reg", role="region_viewer", region="640000"
    )
    _refused(status, body, 403, "platform administrator rights required")
    assert api.client.get(PLATFORM, headers=admin).status_code == 403
    assert api.client.get(f"{base}/admin", headers=admin).status_code == 404
    assert api.client.get(f"{base}/admin", headers=root).status_code == 404
    assert api.client.get(f"{PLATFORM}/acme-admin", headers=root).status_code == 404


def test_region_rules_on_patch(api: Api) -> None:
    root = api.as_admin()
    admin = _tenant(api, "acme", "640104")
    _post(api, PLATFORM, root, username="nx-reg", role="region_viewer", region="640000")
    viewer = bearer(api.login("nx-reg"))
    url = f"{PLATFORM}/nx-reg"

    moved = api.ok("PATCH", url, root, json={"region": "650000"})
    assert moved["region"] == "650000"
    # The change takes effect at once (the principal cache is cleared on a users change).
    assert api.client.get("/api/v1/regions/640000/summary", headers=viewer).status_code == 404
    assert api.client.get("/api/v1/regions/650000/summary", headers=viewer).status_code == 200

    r = api.client.patch(url, headers=root, json={"region": None})
    _refused(r.status_code, r.json(), 422, "a region viewer needs a region")
    r = api.client.patch(url, headers=root, json={"region": "990000"})
    assert r.status_code == 422, r.text
    r = api.client.patch(url, headers=root, json={"role": "platform_admin", "region": "650000"})
    _refused(r.status_code, r.json(), 422, "role platform_admin has none")
    r = api.client.patch(url, headers=root, json={"role": "viewer"})
    _refused(r.status_code, r.json(), 422, "role viewer belongs to a tenant")
    assert api.ok("GET", url, root)["region"] == "650000"  # every refusal left it alone

    promoted = api.ok("PATCH", url, root, json={"role": "platform_admin"})
    assert (promoted["role"], promoted["region"]) == ("platform_admin", None)
    r = api.client.patch(url, headers=root, json={"role": "region_viewer"})
    _refused(r.status_code, r.json(), 422, "a region viewer needs a region")
    back = api.ok("PATCH", url, root, json={"role": "region_viewer", "region": "640100"})
    assert (back["role"], back["region"]) == ("region_viewer", "640100")

    tenant_user = "/api/v1/tenants/acme/users/acme-admin"
    r = api.client.patch(tenant_user, headers=root, json={"region": "640104"})
    _refused(r.status_code, r.json(), 422, "role tenant_admin has none")
    r = api.client.patch(
        tenant_user, headers=root, json={"role": "region_viewer", "region": "640000"}
    )
    _refused(r.status_code, r.json(), 422, "role region_viewer belongs to no tenant")
    assert api.client.patch(url, headers=admin, json={"region": "640000"}).status_code == 403
    assert api.client.delete(url, headers=admin).status_code == 403
    assert api.client.delete(url, headers=root).status_code == 204
    assert api.client.get(url, headers=root).status_code == 404


def test_the_service_lets_only_platform_admins_grant_platform_roles(api: Api) -> None:
    """Callers other than the REST API (the admin CLI, apps) meet the same rule."""
    _tenant(api, "acme", "640104")
    actor = Principal(kind="user", subject="acme-admin", tenant="acme", role=Role.TENANT_ADMIN)
    new = users.NewUser(
        username="nx-reg", password=PASSWORD, role=Role.REGION_VIEWER, region="640000"
    )
    with pytest.raises(Forbidden, match="only a platform administrator may grant the role"):
        users.create_user(api.platform.meta, actor, None, new)
    root = Principal(kind="user", subject="cli", tenant=None, role=Role.PLATFORM_ADMIN)
    made = users.create_user(api.platform.meta, root, None, new)
    assert (made.role, made.region, made.tenant_id) == ("region_viewer", "640000", None)
    with pytest.raises(Forbidden):
        users.update_user(
            api.platform.meta, actor, None, "nx-reg", users.UserChanges(role=Role.PLATFORM_ADMIN)
        )
