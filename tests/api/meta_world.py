"""A real platform (SQLite metadata, DuckDB telemetry) behind the real app, driven in-process.

``world`` is built once per module: two tenants with an admin, an operator, a viewer, scoped
API keys and devices each, so that the many requests of a test module share one set of
(deliberately slow, argon2) password hashes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from helan.admin.bootstrap import bootstrap_admin
from helan.api.app import create_app
from helan.config import Settings
from helan.platform import Platform

PASSWORD = "correct horse battery staple"


def build_platform(data_dir: Path, database_url: str = "") -> Platform:
    settings = Settings(data_dir=data_dir, database_url=database_url)
    return Platform.build(settings)


def close_platform(platform: Platform) -> None:
    if platform.ident is not None:
        platform.ident.close()
    platform.telemetry.close()
    platform.meta.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Api:
    client: TestClient
    platform: Platform
    admin_password: str
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def app(self) -> FastAPI:
        app: FastAPI = self.client.app  # type: ignore[assignment]
        return app

    def login(self, username: str, password: str = PASSWORD) -> str:
        r = self.client.post(
            "/api/v1/auth/token", json={"username": username, "password": password}
        )
        assert r.status_code == 200, r.text
        token: str = r.json()["access_token"]
        self.tokens[username] = token
        return token

    def as_admin(self) -> dict[str, str]:
        token = self.tokens.get("admin") or self.login("admin", self.admin_password)
        return bearer(token)

    def ok(self, method: str, url: str, headers: dict[str, str], **kw: Any) -> Any:
        r = self.client.request(method, url, headers=headers, **kw)
        assert r.status_code < 300, f"{method} {url}: {r.status_code} {r.text}"
        return r.json() if r.content else None


def make_api(data_dir: Path, database_url: str = "") -> tuple[Api, Platform]:
    platform = build_platform(data_dir, database_url)
    password = bootstrap_admin(platform.meta)
    assert password is not None
    client = TestClient(create_app(platform), raise_server_exceptions=False)
    return Api(client=client, platform=platform, admin_password=password), platform


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    """A fresh platform per test."""
    api, platform = make_api(tmp_path / "var")
    with api.client:
        yield api
    close_platform(platform)


@pytest.fixture
def pg_api(tmp_path: Path, pg_url: str) -> Iterator[Api]:
    """A fresh platform whose metadata lives in a fresh PostgreSQL database."""
    api, platform = make_api(tmp_path / "var", pg_url)
    with api.client:
        yield api
    close_platform(platform)


@dataclass
class Tenant:
    id: str
    admin: dict[str, str]
    operator: dict[str, str]
    viewer: dict[str, str]
    keys: dict[str, dict[str, str]]  # scope set name -> X-API-Key header
    key_ids: dict[str, str]
    device: str
    device_auth: tuple[str, str]


def provision_tenant(api: Api, tenant: str) -> Tenant:
    """Tenant with users of each role, API keys, a device type, an asset and a device."""
    root = api.as_admin()
    api.ok("POST", "/api/v1/tenants", root, json={"id": tenant, "name": f"{tenant} 有限公司"})
    base = f"/api/v1/tenants/{tenant}"
    headers: dict[str, dict[str, str]] = {}
    for role in ("tenant_admin", "operator", "viewer"):
        username = f"{tenant}-{role}"
        body = {"username": username, "password": PASSWORD, "role": role}
        api.ok("POST", f"{base}/users", root, json=body)
        headers[role] = bearer(api.login(username))
    keys, key_ids = {}, {}
    for name, scopes in {
        "admin": ["admin"],
        "devices_read": ["devices:read"],
        "telemetry_write": ["telemetry:write"],
    }.items():
        created = api.ok(
            "POST",
            f"{base}/api-keys",
            headers["tenant_admin"],
            json={"name": name, "scopes": scopes},
        )
        keys[name] = {"X-API-Key": created["key"]}
        key_ids[name] = created["id"]
    api.ok(
        "POST",
        f"{base}/device-types",
        headers["operator"],
        json={"id": "pump", "name": "Pump", "properties": [{"name": "temp", "unit": "°C"}]},
    )
    api.ok(
        "POST",
        f"{base}/assets",
        headers["operator"],
        json={"id": "site1", "name": "Site", "kind": "site"},
    )
    dev = api.ok(
        "POST",
        f"{base}/devices",
        headers["operator"],
        json={"id": "pump-1", "name": "Pump 1", "device_type": "pump", "asset": "site1"},
    )
    return Tenant(
        id=tenant,
        admin=headers["tenant_admin"],
        operator=headers["operator"],
        viewer=headers["viewer"],
        keys=keys,
        key_ids=key_ids,
        device=dev["id"],
        device_auth=(dev["username"], dev["password"]),
    )


@dataclass
class World:
    api: Api
    a: Tenant
    b: Tenant


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    api, platform = make_api(tmp_path_factory.mktemp("world") / "var")
    with api.client:
        yield World(api=api, a=provision_tenant(api, "acme"), b=provision_tenant(api, "bolt"))
    close_platform(platform)
