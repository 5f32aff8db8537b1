"""Regional plan indicators over REST: computed from tenants, devices' online events,
identifiers and app installs; stored per day; read back with the plan's targets by division
and industry; plans checked as data; exports; who may see and manage what."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from meta_world import PASSWORD, Api, bearer, close_platform, make_api

from helan.apps.installs import AppInstalls
from helan.region.plans import demo_plan
from helan.services.region_plans import this_year
from helan.storage.meta.models import DeviceEvent

YEAR = this_year()


def _tenant(api: Api, tenant: str, region: str, industry: str, devices: dict[str, str | None]):
    root = api.as_admin()
    body = {"id": tenant, "name": f"{tenant} Co", "region": region, "industry_code": industry}
    api.ok("POST", "/api/v1/tenants", root, json=body)
    base = f"/api/v1/tenants/{tenant}"
    pump = {"id": "pump", "name": "Pump", "properties": [{"name": "temp"}]}
    api.ok("POST", f"{base}/device-types", root, json=pump)
    for device, identifier in devices.items():
        body = {"id": device, "name": device, "device_type": "pump", "identifier": identifier}
        api.ok("POST", f"{base}/devices", root, json=body)


def _events(api: Api, tenant: str, device: str, *events: tuple[str, datetime]) -> None:
    """What the online watchdog stores for ``device``."""
    with api.platform.meta.session() as s:
        for name, at in events:
            ts = int(at.timestamp() * 1000)
            s.add(
                DeviceEvent(
                    tenant_id=tenant, device_id=device, ts=ts, event=name, level="info", data={}
                )
            )


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One platform for the module (each test uses its own plans and accounts). Ningxia:
    nx-a (Helan county, pumps: section C), nx-b (Shizuishan, software: I), nx-c (Helan
    county, suspended); Beijing's bj. Devices came online at different times."""
    api, platform = make_api(Path(tmp_path_factory.mktemp("region")) / "var")
    with api.client:
        _world(api)
        yield api
    close_platform(platform)


def _world(api: Api) -> None:
    now = datetime.now(UTC)
    _tenant(api, "nx-a", "640122", "34", {"a1": "88.300.1/A1", "a2": None, "a3": None})
    _tenant(api, "nx-b", "640205", "65", {"b1": "88.300.1/B1"})
    _tenant(api, "nx-c", "640122", "34", {"c1": None})
    _tenant(api, "bj", "110101", "34", {"j1": None})
    _events(api, "nx-a", "a1", ("device_online", now - timedelta(days=90)))  # still online
    _events(
        api,
        "nx-a",
        "a2",
        ("device_online", now - timedelta(days=50)),
        ("device_offline", now - timedelta(days=40)),  # quiet for 40 days: not active
    )
    _events(
        api,
        "nx-b",
        "b1",
        ("device_online", now - timedelta(days=20)),
        ("device_offline", now - timedelta(days=10)),  # sent data 10 days ago: active
    )
    _events(api, "nx-c", "c1", ("device_online", now - timedelta(days=1)))
    _events(api, "bj", "j1", ("device_online", now - timedelta(days=1)))
    _events(api, "nx-a", "gone", ("device_online", now - timedelta(days=1)))  # deleted device
    root = api.as_admin()
    api.ok("PATCH", "/api/v1/tenants/nx-c", root, json={"status": "suspended"})
    body = {"id": "p1", "name": "p1", "kind": "unit", "identifier": "88.300.1/P1"}
    api.ok("POST", "/api/v1/tenants/nx-a/products", root, json=body)
    installs = AppInstalls(api.platform.meta)
    installs.install("nx-a", "data_quality")
    installs.install("nx-b", "data_quality")
    installs.install("nx-b", "off", enabled=False)


def _viewer(api: Api, username: str, code: str) -> dict[str, str]:
    body = {"username": username, "password": PASSWORD, "role": "region_viewer", "region": code}
    api.ok("POST", "/api/v1/users", api.as_admin(), json=body)
    return bearer(api.login(username))


def _plan(plan: str, **over: object) -> dict[str, object]:
    targets = [
        {"indicator": "enterprises_on_cloud", "year": YEAR + 1, "target": 4},
        {"indicator": "devices_connected", "year": YEAR + 1, "target": 10},
        {"indicator": "devices_connected", "year": YEAR + 1, "region": "640100", "target": 5},
        {"indicator": "enterprises_on_cloud", "year": YEAR + 1, "industry": "C", "target": 2},
    ]
    return {"id": plan, "name": "Test plan", "targets": targets, **over}


def test_progress_by_division_and_industry(region: Api) -> None:
    api, root = region, region.as_admin()
    regulator = _viewer(api, "nx-reg", "640000")
    api.ok("POST", "/api/v1/regions/640000/plans", root, json=_plan("nx-progress"))
    refreshed = api.ok("POST", "/api/v1/regions/640000/indicators/refresh", root)
    assert refreshed["rows"] > 0
    page = api.ok("GET", "/api/v1/regions/640000/indicators?plan=nx-progress", regulator)
    assert page["plan"]["id"] == "nx-progress"
    assert [p["code"] for p in page["path"]] == ["640000"]
    total = page["total"]
    # nx-c is suspended, bj is Beijing's; "gone" is not a device any more.
    assert total["values"] == {
        "enterprises_on_cloud": 2.0,  # nx-a (a1 online), nx-b (b1 heard from 10 days ago)
        "enterprises_registered": 2.0,
        "devices_connected": 3.0,  # a1, a2, b1
        "devices_online": 1.0,  # a1
        "identifiers_registered": 3.0,  # a1, b1, p1
        "apps_in_use": 2.0,
    }
    assert total["targets"] == {"enterprises_on_cloud": 4.0, "devices_connected": 10.0}
    by_division = {d["code"]: d for d in page["divisions"]}
    assert by_division["640100"]["name"] == "银川市"
    assert by_division["640100"]["values"]["devices_connected"] == 2.0
    assert by_division["640100"]["targets"] == {"devices_connected": 5.0}
    assert by_division["640200"]["values"]["devices_connected"] == 1.0
    assert by_division["640300"]["values"]["devices_connected"] == 0.0
    by_industry = {i["code"]: i for i in page["industries"]}
    assert by_industry["C"]["values"]["enterprises_on_cloud"] == 1.0
    assert by_industry["C"]["targets"] == {"enterprises_on_cloud": 2.0}
    assert by_industry["I"]["values"]["devices_connected"] == 1.0

    # Drill down: a prefecture, then a section into its divisions.
    yinchuan = api.ok("GET", "/api/v1/regions/640100/indicators?plan=nx-progress", regulator)
    assert [p["code"] for p in yinchuan["path"]] == ["640000", "640100"]
    helan = {d["code"]: d for d in yinchuan["divisions"]}["640122"]
    assert helan["values"]["enterprises_on_cloud"] == 1.0
    section = api.ok(
        "GET", "/api/v1/regions/640000/indicators?industry=c&plan=nx-progress", regulator
    )
    assert section["industry"] == "C"
    assert section["total"]["values"]["enterprises_on_cloud"] == 1.0
    assert {i["code"] for i in section["industries"]} == {f"{n}" for n in range(13, 44)}
    assert {i["code"]: i for i in section["industries"]}["34"]["values"]["devices_connected"] == 2

    series = api.ok("GET", "/api/v1/regions/640000/indicators/devices_connected/series", regulator)
    assert [p["value"] for p in series] == [3.0]


def test_plans_are_checked_as_data(region: Api) -> None:
    api, root = region, region.as_admin()
    url = "/api/v1/regions/640000/plans"
    bad = _plan(
        "nx-bad",
        targets=[
            {"indicator": "enterprises_on_cloud", "year": YEAR - 1, "target": 4},
            {"indicator": "devices_connected", "year": YEAR, "region": "640199", "target": 5},
            {"indicator": "devices_connected", "year": YEAR, "region": "110000", "target": 5},
            {"indicator": "smiles", "year": YEAR, "target": 1},
            {"indicator": "apps_in_use", "year": YEAR, "industry": "98", "target": 1},
        ],
    )
    r = api.client.post(url, headers=root, json=bad)
    assert r.status_code == 422, r.text
    message = r.json()["error"]["message"]
    for expected in (
        f"targets[0].year: {YEAR - 1} is in the past",
        "targets[1].region: unknown administrative division code '640199'",
        "targets[2].region: '110000' does not lie in the plan's '640000'",
        "targets[3].indicator: unknown indicator 'smiles'",
        "targets[4].industry: unknown GB/T 4754-2017 code '98'",
    ):
        assert expected in message, message
    twice = [{"indicator": "apps_in_use", "year": YEAR, "target": 1}] * 2
    r = api.client.post(url, headers=root, json={**bad, "targets": twice})
    assert "targets[1]: repeats targets[0]" in r.json()["error"]["message"]
    r = api.client.post("/api/v1/regions/649900/plans", headers=root, json=_plan("x"))
    assert r.status_code == 422, r.text
    assert "'649900'" in r.json()["error"]["message"]
    assert api.client.post(url, headers=root, json=_plan("nx-twice")).status_code == 201
    assert api.client.post(url, headers=root, json=_plan("nx-twice")).status_code == 409
    doc = demo_plan()
    made = api.ok("POST", url, root, json=doc)
    assert made["id"] == "nx-iiot-2027"
    assert len(made["targets"]) == len(doc["targets"])


def test_who_sees_and_who_manages(region: Api) -> None:
    api, root = region, region.as_admin()
    regulator = _viewer(api, "nx-reg2", "640000")
    yinchuan = _viewer(api, "yc-reg", "640100")
    url = "/api/v1/regions/640000/plans"
    r = api.client.post(url, headers=regulator, json=_plan("nx-who"))
    assert r.status_code == 403, r.text
    assert "region administrator rights for '640000'" in r.text
    # The grant: only a platform administrator gives it, only inside the viewer's region.
    grant = {"username": "yc-reg"}
    assert (
        api.client.post("/api/v1/regions/640000/admins", headers=regulator, json=grant).status_code
        == 403
    )
    r = api.client.post("/api/v1/regions/640000/admins", headers=root, json=grant)
    assert r.status_code == 422, r.text
    api.ok("POST", "/api/v1/regions/640100/admins", root, json=grant)
    assert api.client.post(url, headers=yinchuan, json=_plan("nx-who")).status_code == 404
    yc_plan = _plan("yc", targets=[{"indicator": "apps_in_use", "year": YEAR, "target": 3}])
    api.ok("POST", "/api/v1/regions/640100/plans", yinchuan, json=yc_plan)
    # A viewer above sees it; another prefecture's viewer does not see Yinchuan at all.
    assert "yc" in [p["id"] for p in api.ok("GET", url, regulator)]
    shizuishan = _viewer(api, "szs-reg", "640200")
    r = api.client.get("/api/v1/regions/640100/indicators", headers=shizuishan)
    assert r.status_code == 404, r.text
    api.ok("DELETE", "/api/v1/regions/640100/admins/yc-reg", root)
    r = api.client.delete("/api/v1/regions/640100/plans/yc", headers=yinchuan)
    assert r.status_code == 403, r.text
    # A region viewer never sees a tenant's telemetry, even in its region.
    r = api.client.get("/api/v1/tenants/nx-a/devices/a1/telemetry", headers=regulator)
    assert r.status_code == 403, r.text
    assert "never a tenant's data" in r.json()["error"]["message"]
    r = api.client.get("/api/v1/regions/640199/indicators", headers=regulator)
    assert r.status_code == 422, r.text


def test_exports(region: Api) -> None:
    api, root = region, region.as_admin()
    api.ok("POST", "/api/v1/regions/640000/plans", root, json=_plan("nx-export"))
    api.ok("POST", "/api/v1/regions/640000/indicators/refresh", root)
    query = "plan=nx-export"
    r = api.client.get(f"/api/v1/regions/640000/indicators/export?{query}", headers=root)
    assert r.status_code == 200, r.text
    assert "region-640000-all" in r.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(r.content)) as book:
        strings = book.read("xl/sharedStrings.xml").decode()
        sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/sheet")]
    assert len(sheets) == 4
    for expected in ("银川市", "上云企业", "制造业", "Test plan"):
        assert expected in strings, expected
    r = api.client.get(f"/api/v1/regions/640000/indicators/export?format=pdf&{query}", headers=root)
    if r.status_code == 503:  # no CJK font on this machine: said, not a broken file
        assert "fonts-wqy-microhei" in r.json()["error"]["message"]
    else:
        assert r.status_code == 200, r.text
        assert r.content.startswith(b"%PDF-")
