"""The simulated factory's security demo: its devices carry real products (some at versions
CISA's advisories in data/csaf name as affected), the demo's rule on ``security_advisory``
passes the rule checks, and importing the shipped advisories raises the event on exactly the
affected devices, once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from helan.admin.bootstrap import bootstrap_admin
from helan.api.app import create_app
from helan.config import Settings
from helan.platform import Platform
from helan.security.advisories.store import inventory, matches
from helan.sim.alarms import provision_alarms
from helan.sim.embedded import CSAF_DIR, import_advisories
from helan.sim.plan import FactoryPlan
from helan.sim.provision import login, provision


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    p = Platform.build(Settings(data_dir=tmp_path / "var", notify_allowed_hosts=["127.0.0.1:9"]))
    yield p
    p.telemetry.close()
    p.meta.close()


async def test_shipped_advisories_alarm_the_affected_demo_devices(
    platform: Platform, tmp_path: Path
) -> None:
    password = bootstrap_admin(platform.meta)
    assert password is not None
    transport = httpx.ASGITransport(app=create_app(platform))
    async with httpx.AsyncClient(transport=transport, base_url="http://helan.test") as http:
        token = await login(http, "admin", password)
        h = {"Authorization": f"Bearer {token}"}
        plan = FactoryPlan(devices=30)
        sims = await provision(http, token, plan)
        assert await provision_alarms(http, token, plan, "http://127.0.0.1:9/hook") > 0
        rule = (await http.get("/api/v1/tenants/demo/rules/security-advisory", headers=h)).json()
        assert rule["spec"]["condition"]["type"] == "security_advisory"  # the checks took it

        assert await import_advisories(platform, tmp_path / "no-such-folder") == 0
        raised = await import_advisories(platform, CSAF_DIR)
        assert await import_advisories(platform, CSAF_DIR) == 0  # once per device and advisory

        assets = inventory(platform.meta, "demo")
        assert len(assets) == len(sims) == 30
        found = matches(platform.meta, assets)
        affected = {m.device for m in found if m.status == "affected"}
        assert {m.tracking_id for m in found if m.status == "affected"} == {
            "ICSA-23-227-01",
            "ICSA-24-116-01",
            "ICSA-22-356-03",
            "ICSA-24-284-20",
        }
        assert {m.status for m in found} == {"affected", "not_affected"}
        assert 0 < len(affected) < len(sims)  # some devices, not all
        assert raised == len(affected)
        for d in sims:
            r = await http.get(
                f"/api/v1/tenants/demo/devices/{d.device_id}/events",
                headers=h,
                params={"event": "security_advisory"},
            )
            got = [e["data"]["advisory"] for e in r.json()["items"]]
            assert bool(got) == (d.device_id in affected), d.device_id
