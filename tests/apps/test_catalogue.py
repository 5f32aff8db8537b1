"""The app catalogue through the REST API of a real platform: manifests, install / configure /
enable / disable / uninstall by tenant admins only, each audited; config checked against the
manifest; the usage counters the regional view reads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa

from helan.admin.bootstrap import bootstrap_admin
from helan.api.app import create_app
from helan.apps.catalogue.service import usage
from helan.apps.descriptors import AppManifest
from helan.config import Settings
from helan.core.errors import ValidationFailed
from helan.platform import Platform
from helan.security.principal import Principal, Role
from helan.services.users import NewUser, create_user
from helan.storage.meta.models import AuditEntry, Tenant

BASE = "/api/v1/tenants/{}/apps"
ROOT = Principal(kind="user", subject="admin", tenant=None, role=Role.PLATFORM_ADMIN)


pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[Platform, httpx.AsyncClient, dict[str, dict[str, str]]]]:
    # No Handle wire listeners (ident_port 0): their fixed port may be a parallel worker's.
    platform = Platform.build(
        Settings(data_dir=tmp_path_factory.mktemp("catalogue") / "var", ident_port=0)
    )
    password = bootstrap_admin(platform.meta)
    assert password is not None
    with platform.meta.session() as s:
        s.add(Tenant(id="acme", name="Acme"))
        s.add(Tenant(id="beta", name="Beta"))
    for name, role in (("acme-admin", Role.TENANT_ADMIN), ("acme-op", Role.OPERATOR)):
        create_user(
            platform.meta,
            ROOT,
            "acme",
            NewUser(username=name, password="Secret-pass-123!", role=role),
        )
    await platform.start(mqtt=False)
    transport = httpx.ASGITransport(app=create_app(platform))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            headers = {}
            for name, pw in (
                ("admin", password),
                ("acme-admin", "Secret-pass-123!"),
                ("acme-op", "Secret-pass-123!"),
            ):
                r = await http.post("/api/v1/auth/token", json={"username": name, "password": pw})
                assert r.status_code == 200, r.text
                headers[name] = {"Authorization": f"Bearer {r.json()['access_token']}"}
            yield platform, http, headers
    finally:
        await platform.stop()


async def test_catalogue_lists_the_builtin_apps_with_manifests(client: Any) -> None:
    _, http, h = client
    r = await http.get(BASE.format("acme"), headers=h["acme-op"])
    items = {i["id"]: i for i in r.json()["items"]}
    assert {"data_quality", "oee", "energy"} <= set(items)
    assert (items["oee"]["name"]["zh-CN"], items["oee"]["installed"]) == ("设备综合效率 OEE", False)


def _audit_after(platform: Platform, last: int) -> list[str]:
    with platform.meta.session() as s:
        return list(
            s.scalars(
                sa.select(AuditEntry.action)
                .where(AuditEntry.object_type == "app", AuditEntry.id > last)
                .order_by(AuditEntry.id)
            )
        )


def _last_audit(platform: Platform) -> int:
    with platform.meta.session() as s:
        return int(s.scalar(sa.select(sa.func.max(AuditEntry.id))) or 0)


async def test_install_configure_disable_uninstall_each_audited(client: Any) -> None:
    platform, http, h = client
    mark = _last_audit(platform)
    url = BASE.format("acme") + "/data_quality"
    r = await http.put(url, json={}, headers=h["acme-admin"])
    assert (r.status_code, r.json()["installed"], r.json()["config_version"]) == (200, True, 0)
    assert "acme" in platform.apps.installs.tenants("data_quality")
    r = await http.patch(url, json={"enabled": False}, headers=h["acme-admin"])
    assert r.json()["enabled"] is False
    assert "acme" not in platform.apps.installs.tenants("data_quality")
    r = await http.patch(url, json={"enabled": True}, headers=h["acme-admin"])
    assert r.json()["enabled"] is True
    assert (await http.delete(url, headers=h["acme-admin"])).status_code == 204
    assert (await http.get(url, headers=h["acme-op"])).json()["installed"] is False
    assert _audit_after(platform, mark) == [
        "app.install",
        "app.disable",
        "app.enable",
        "app.uninstall",
    ]


async def test_config_is_versioned(client: Any) -> None:
    _, http, h = client
    url = BASE.format("acme") + "/oee"
    shifts = [{"name": "D", "start": "08:00", "end": "20:00"}]
    r = await http.put(url, json={"config": {"shifts": shifts}}, headers=h["acme-admin"])
    first = r.json()["config_version"]
    r = await http.patch(url, json={"config": {"zone": "UTC"}}, headers=h["acme-admin"])
    assert (r.json()["config"], r.json()["config_version"]) == ({"zone": "UTC"}, first + 1)


async def test_config_against_the_schema_is_refused_with_its_position(client: Any) -> None:
    _, http, h = client
    body = {"config": {"shifts": [{"name": "D", "start": "8 am", "end": "20:00"}]}}
    r = await http.put(BASE.format("acme") + "/oee", json=body, headers=h["acme-admin"])
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["loc"] == ["config", "shifts", 0, "start"]


async def test_operator_may_not_install(client: Any) -> None:
    _, http, h = client
    r = await http.put(BASE.format("acme") + "/oee", json={}, headers=h["acme-op"])
    assert r.status_code == 403


async def test_other_tenant_is_hidden(client: Any) -> None:
    _, http, h = client
    r = await http.put(BASE.format("beta") + "/oee", json={}, headers=h["acme-admin"])
    assert r.status_code == 404


async def test_unknown_app_is_404(client: Any) -> None:
    _, http, h = client
    r = await http.put(BASE.format("acme") + "/nosuch", json={}, headers=h["acme-admin"])
    assert r.status_code == 404


async def test_installed_app_sees_only_its_tenant(client: Any) -> None:
    _, http, h = client
    await http.put(BASE.format("acme") + "/oee", json={}, headers=h["acme-admin"])
    r = await http.get("/api/v1/apps/oee/tenants/beta/report", headers=h["admin"])
    assert r.status_code == 403


async def test_usage_counts_installs_active_tenants_and_calls(client: Any) -> None:
    platform, http, h = client
    await http.put(BASE.format("acme") + "/oee", json={}, headers=h["acme-admin"])
    await http.put(
        BASE.format("acme") + "/energy", json={"enabled": False}, headers=h["acme-admin"]
    )
    platform.apps.calls.flush(platform.meta)
    before = usage(platform.meta)["apps"].get("oee", {}).get("calls", 0)
    report = "/api/v1/apps/oee/tenants/{}/report"
    for _ in range(3):
        r = await http.get(report.format("acme"), headers=h["acme-op"])
        assert r.status_code == 200
    assert (await http.get(report.format("beta"), headers=h["admin"])).status_code == 403
    platform.apps.calls.flush(platform.meta)
    got = (await http.get("/api/v1/apps/usage", headers=h["admin"])).json()
    assert got["apps"]["oee"] == {"installs": 1, "active_tenants": 1, "calls": before + 3}
    assert got["apps"]["energy"]["active_tenants"] == 0
    assert got["apps_in_use"] >= 1


async def test_usage_of_a_region_counts_only_its_tenants(client: Any) -> None:
    platform, http, h = client
    await http.put(BASE.format("acme") + "/oee", json={}, headers=h["acme-admin"])
    assert usage(platform.meta, tenants=["beta"])["apps_in_use"] == 0


async def test_usage_is_for_platform_admins_only(client: Any) -> None:
    _, http, h = client
    assert (await http.get("/api/v1/apps/usage", headers=h["acme-admin"])).status_code == 403


def test_hook_manifest_is_checked() -> None:
    with pytest.raises(ValidationFailed, match=r"MAJOR\.MINOR\.PATCH"):
        AppManifest(name_zh="x", name_en="x", version="one")


def test_hook_manifest_schema_must_be_valid() -> None:
    with pytest.raises(ValidationFailed, match="config_schema"):
        AppManifest(name_zh="x", name_en="x", version="1.0.0", config_schema={"type": 5})


async def test_demo_provisioning_installs_oee_and_energy_once(client: Any) -> None:
    from helan.sim.plan import FactoryPlan
    from helan.sim.provision import install_apps

    _, http, h = client
    token = h["admin"]["Authorization"].removeprefix("Bearer ")
    plan = FactoryPlan(tenant="beta")
    assert {"oee", "energy"} <= set(await install_apps(http, token, plan))
    assert await install_apps(http, token, plan) == []
    r = await http.get(BASE.format("beta") + "/energy", headers=h["admin"])
    assert r.json()["config"]["emission_factor"] == {"region": "northwest"}
