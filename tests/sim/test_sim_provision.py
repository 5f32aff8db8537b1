"""Provisioning through the real REST API (in-process ASGI), against real SQLite metadata."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from helan.admin.bootstrap import bootstrap_admin
from helan.api.app import create_app
from helan.config import Settings
from helan.platform import Platform
from helan.sim.embedded import _admin_token
from helan.sim.metrics import KIND_DEFS
from helan.sim.plan import FactoryPlan
from helan.sim.provision import ProvisionError, login, provision


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    p = Platform.build(Settings(data_dir=tmp_path / "var"))
    yield p
    p.telemetry.close()
    p.meta.close()


@pytest.fixture
async def client(platform: Platform) -> AsyncIterator[tuple[httpx.AsyncClient, str, FastAPI]]:
    password = bootstrap_admin(platform.meta)
    assert password is not None
    app = create_app(platform)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://helan.test") as c:
        yield c, password, app


async def test_provision_creates_the_demo_enterprise_and_is_idempotent(
    client: tuple[httpx.AsyncClient, str, FastAPI], platform: Platform
) -> None:
    http, password, _ = client
    token = await login(http, "admin", password)
    plan = FactoryPlan(devices=12)
    h = {"Authorization": f"Bearer {token}"}

    first = await provision(http, token, plan)
    assert len(first) == 12
    tenant = (await http.get("/api/v1/tenants/demo", headers=h)).json()
    assert tenant["name"] == "演示企业 Demo Enterprise"
    types = (await http.get("/api/v1/tenants/demo/device-types", headers=h)).json()["items"]
    assert {t["id"] for t in types} == {k.device_type for k in KIND_DEFS.values()}
    pump = next(t for t in types if t["id"] == "pump-station")
    pressure = next(p for p in pump["properties"] if p["name"] == "pressure")
    assert (pressure["unit"], pressure["type"], pressure["min"], pressure["max"]) == (
        "bar",
        "float",
        -5,
        10,
    )
    tree = (await http.get("/api/v1/tenants/demo/asset-tree", headers=h)).json()
    assert [n["id"] for n in tree] == ["demo-plant"]
    lines = {c["id"]: c["devices"] for c in tree[0]["children"]}
    assert set(lines) == {"pump-line-01", "power-line-01", "cnc-line-01", "stamping-line-01"}
    assert sorted(d for ds in lines.values() for d in ds) == sorted(d.device_id for d in first)

    # Each credential works where the platform checks device credentials.
    for d in first:
        assert d.username is not None
        assert d.password is not None
        ref = platform.directory.authenticate(d.username, d.password)
        assert ref is not None
        assert (ref.tenant, ref.device) == ("demo", d.device_id)
        assert set(ref.metrics) == {m.name for m in (*d.kind.metrics, *d.kind.derived)}

    # Again: nothing duplicated, credentials rotated (the old ones stop working).
    second = await provision(http, token, plan)
    assert [d.device_id for d in second] == [d.device_id for d in first]
    listed = (await http.get("/api/v1/tenants/demo/devices?limit=100", headers=h)).json()
    assert listed["total"] == 12
    assert platform.directory.authenticate(first[0].username or "", first[0].password or "") is None
    assert platform.directory.authenticate(second[0].username or "", second[0].password or "")


async def test_provision_reports_refusals_clearly(
    client: tuple[httpx.AsyncClient, str, FastAPI],
) -> None:
    http, _, _ = client
    with pytest.raises(ProvisionError, match=r"read tenant demo: HTTP 401"):
        await provision(http, "not-a-token", FactoryPlan(devices=1))
    with pytest.raises(ProvisionError, match=r"log in as admin: HTTP 401"):
        await login(http, "admin", "wrong password")


async def test_embedded_factory_mints_an_admin_token(
    client: tuple[httpx.AsyncClient, str, FastAPI], platform: Platform
) -> None:
    http, _, _ = client
    token = _admin_token(platform)
    me = (await http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})).json()
    assert (me["subject"], me["role"]) == ("admin", "platform_admin")
