"""Tenant isolation, proven on every route of the app.

The routes are read from ``app.routes``: a route added later without a row here (an unknown
path parameter, or a non-tenant route missing from NON_TENANT) fails ``test_every_route_is_known``.
For each tenant route: no credential → 401; every kind of tenant B credential on tenant A's
real objects → 404, exactly as for a tenant that does not exist; tenant A's viewer and a
read-only API key → 403 on every write; tenant A's admin reads without being refused.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from meta_world import World, create_app

from helan.storage.meta.models import Command, Product

WRITE = {"POST", "PUT", "PATCH", "DELETE"}


def _command(w: World) -> str:
    """A command of tenant A's device, recorded once (commands are made by sending them)."""
    with w.api.platform.meta.session() as s:
        if s.get(Command, (w.a.id, "c1")) is None:
            now = datetime.now(UTC)
            s.add(
                Command(
                    tenant_id=w.a.id,
                    id="c1",
                    device_id=w.a.device,
                    service="reset",
                    params={},
                    status="success",
                    requested_by="user:acme-operator",
                    created_at=now,
                    expires_at=now + timedelta(seconds=10),
                )
            )
    return "c1"


def _product(w: World) -> str:
    """A product of tenant A, made by its device."""
    with w.api.platform.meta.session() as s:
        if s.get(Product, (w.a.id, "sn-1")) is None:
            s.add(
                Product(
                    tenant_id=w.a.id, id="sn-1", name="Unit 1", kind="unit", made_by_id=w.a.device
                )
            )
    return "sn-1"


# Path parameter -> value naming a real object of tenant A ("acme").
PARAMS: dict[str, Callable[[World], str]] = {
    "tenant": lambda w: w.a.id,
    "device": lambda w: w.a.device,
    "type_id": lambda w: "pump",
    "asset": lambda w: "site1",
    "username": lambda w: "acme-viewer",
    "key_id": lambda w: w.a.key_ids["devices_read"],
    "metric": lambda w: "temp",
    "command_id": _command,
    "product": _product,
}
# Routes outside any tenant: (method, path) -> status without credentials.
NON_TENANT: dict[tuple[str, str], int] = {
    ("GET", "/healthz"): 200,
    ("POST", "/api/v1/auth/token"): 422,
    ("POST", "/api/v1/auth/refresh"): 422,
    ("POST", "/api/v1/auth/logout"): 422,
    ("GET", "/api/v1/auth/me"): 401,
    ("POST", "/api/v1/auth/password"): 401,
    ("GET", "/api/v1/tenants"): 401,
    ("POST", "/api/v1/tenants"): 401,
    ("POST", "/api/v1/devices/me/telemetry"): 401,
}
# Readable only by tenant administrators.
ADMIN_READS = ("/users", "/api-keys", "/audit")


def _routes() -> list[tuple[str, str]]:
    app = create_app(None)  # type: ignore[arg-type] - routes do not need the platform
    found = []
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute) and context.path and context.methods:
            found += [(method, context.path) for method in sorted(context.methods)]
    return found


ROUTES = _routes()
TENANT_ROUTES = [r for r in ROUTES if "{tenant}" in r[1]]


def _url(world: World, path: str, **override: str) -> str:
    values = {name: fn(world) for name, fn in PARAMS.items()} | override
    return path.format(**values)


def _call(
    world: World,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    auth: tuple[str, str] | None = None,
    **override: str,
) -> tuple[int, dict]:
    body = {} if method in {"POST", "PUT", "PATCH"} else None
    r = world.api.client.request(
        method, _url(world, path, **override), headers=headers or {}, json=body, auth=auth
    )
    is_json = r.headers.get("content-type", "").startswith("application/json")
    return r.status_code, (r.json() if is_json and r.content else {})


def test_every_route_is_known() -> None:
    for method, path in ROUTES:
        if "{tenant}" in path:
            params = {p.strip("{}").split(":")[0] for p in path.split("/") if p.startswith("{")}
            missing = params - PARAMS.keys()
            assert not missing, f"{method} {path}: add a value for {missing} to PARAMS"
        else:
            assert (method, path) in NON_TENANT, f"{method} {path}: add it to NON_TENANT"
    assert len(TENANT_ROUTES) >= 30


@pytest.mark.parametrize(("method", "path"), TENANT_ROUTES)
def test_no_credentials_is_401(world: World, method: str, path: str) -> None:
    status, body = _call(world, method, path)
    assert status == 401, body
    assert body["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize(("method", "path"), TENANT_ROUTES)
def test_other_tenant_gets_404(world: World, method: str, path: str) -> None:
    b = world.b
    credentials = {
        "admin": {"headers": b.admin},
        "operator": {"headers": b.operator},
        "viewer": {"headers": b.viewer},
        "admin api key": {"headers": b.keys["admin"]},
        "device": {"auth": b.device_auth},
    }
    for name, cred in credentials.items():
        status, body = _call(world, method, path, **cred)
        assert status == 404, f"{name}: {status} {body}"
        assert body == {"error": {"code": "not_found", "message": "tenant 'acme' not found"}}
    # Indistinguishable from a tenant that does not exist at all.
    status, ghost = _call(world, method, path, headers=b.admin, tenant="ghost")
    assert status == 404
    assert ghost["error"]["code"] == "not_found"


@pytest.mark.parametrize(("method", "path"), TENANT_ROUTES)
def test_platform_admin_on_missing_tenant_gets_404(world: World, method: str, path: str) -> None:
    status, body = _call(world, method, path, headers=world.api.as_admin(), tenant="ghost")
    assert status == 404, body


@pytest.mark.parametrize(("method", "path"), [r for r in TENANT_ROUTES if r[0] in WRITE])
def test_viewer_and_read_only_key_get_403_on_writes(world: World, method: str, path: str) -> None:
    for name, headers in {
        "viewer": world.a.viewer,
        "read key": world.a.keys["devices_read"],
    }.items():
        status, body = _call(world, method, path, headers=headers)
        assert status == 403, f"{name}: {status} {body}"
        assert body["error"]["code"] == "forbidden"


@pytest.mark.parametrize(("method", "path"), [r for r in TENANT_ROUTES if r[0] == "GET"])
def test_owner_reads(world: World, method: str, path: str) -> None:
    status, body = _call(world, method, path, headers=world.a.admin)
    assert status not in (401, 403, 404), body
    assert status < 500, body
    status, body = _call(world, method, path, headers=world.a.viewer)
    if path.endswith(ADMIN_READS) or any(f"{seg}/" in path for seg in ADMIN_READS):
        assert status == 403, body
    else:
        assert status not in (401, 403, 404), body
        assert status < 500, body


@pytest.mark.parametrize(("method", "path"), sorted(NON_TENANT))
def test_non_tenant_routes_without_credentials(world: World, method: str, path: str) -> None:
    status, body = _call(world, method, path)
    assert status == NON_TENANT[(method, path)], body


def test_tenant_list_and_create_need_platform_admin(world: World) -> None:
    for headers in (world.a.admin, world.a.keys["admin"]):
        assert world.api.client.get("/api/v1/tenants", headers=headers).status_code == 403
        r = world.api.client.post("/api/v1/tenants", headers=headers, json={"id": "x", "name": "x"})
        assert r.status_code == 403


def test_device_credential_cannot_read_its_own_tenant(world: World) -> None:
    r = world.api.client.get("/api/v1/tenants/acme/devices", auth=world.a.device_auth)
    assert r.status_code == 403
