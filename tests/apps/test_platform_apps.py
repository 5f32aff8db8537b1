"""The apps inside a real platform: built with it (built-ins and entry points), their routes in
the REST API behind its authentication, their jobs on its scheduler next to retention."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from helan.admin.bootstrap import bootstrap_admin
from helan.api.app import create_app
from helan.apps.builtin.data_quality import app as dq
from helan.config import Settings
from helan.core.points import batch_from_columns
from helan.platform import Platform
from helan.storage.meta.models import Device, Tenant
from helan.storage.retention import RETENTION_JOB
from tests.conftest import eventually

NOW = 1_790_000_040_000


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[tuple[Platform, str]]:
    platform = Platform.build(Settings(data_dir=tmp_path / "var"))
    password = bootstrap_admin(platform.meta)
    assert password is not None
    with platform.meta.session() as s:
        s.add(Tenant(id="acme", name="Acme"))
        s.add(Tenant(id="beta", name="Beta"))
        s.flush()
        s.add(Device(tenant_id="acme", id="press-1", name="Press 1", credential_hash="x"))
    assert platform.apps is not None
    platform.apps.installs.install("acme", "data_quality")
    await platform.start(mqtt=False)
    try:
        yield platform, password
    finally:
        await platform.stop()


async def test_builtin_app_runs_in_the_platform(platform: tuple[Platform, str]) -> None:
    p, password = platform
    assert p.apps is not None
    assert p.apps.manager.app_ids[0] == "data_quality"
    await eventually(lambda: p.scheduler.status(RETENTION_JOB).runs >= 1)
    assert "data_quality:flush" in p.scheduler.job_ids

    batch = batch_from_columns(
        ["acme", "beta"], ["press-1", "x"], ["t", "t"], [NOW, NOW], [1.0, 2.0]
    )
    await p.pipeline.submit(batch)  # the app gets it from the committed-data stream
    assert await p.pipeline.stream.drain()
    sdk = p.apps.sdks["data_quality"]
    assert await dq.flush(sdk, now_ms=NOW) == 1

    transport = httpx.ASGITransport(app=create_app(p))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        url = "/api/v1/apps/data_quality/tenants/{}/points"
        assert (await client.get(url.format("acme"))).status_code == 401
        r = await client.post(
            "/api/v1/auth/token", json={"username": "admin", "password": password}
        )
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = await client.get(url.format("acme"), headers=auth)
        assert r.status_code == 200, r.text
        assert r.json()["last"] == {"press-1": 1}
        r = await client.get(url.format("beta"), headers=auth)  # beta did not install it
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "forbidden"
        page = await client.get("/apps/data_quality/static/data_quality.js")
        assert page.status_code == 200
        assert "export async function render" in page.text
        spec = (await client.get("/openapi.json")).json()
        assert "/api/v1/apps/data_quality/tenants/{tenant}/points" in spec["paths"]
