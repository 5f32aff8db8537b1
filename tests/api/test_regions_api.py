"""A region's summary counts what its tenants have, and nothing of any other region's or any
tenant's data, on SQLite and on PostgreSQL metadata."""

from __future__ import annotations

import time

import orjson
import pytest
from meta_world import PASSWORD, Api, bearer

from helan.apps.installs import AppInstalls

SUMMARY_KEYS = {
    "region",
    "at",
    "tenants",
    "tenants_by_status",
    "devices",
    "online",
    "identifiers",
    "apps_installed",
    "apps",
    "by_tenant",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def any_api(request: pytest.FixtureRequest) -> Api:
    api: Api = request.getfixturevalue("api" if request.param == "sqlite" else "pg_api")
    return api


def _tenant(api: Api, tenant: str, region: str | None, devices: dict[str, str | None]) -> None:
    """``tenant`` in ``region`` with a pump type and ``devices`` (id -> identifier)."""
    root = api.as_admin()
    api.ok(
        "POST",
        "/api/v1/tenants",
        root,
        json={"id": tenant, "name": f"{tenant} Co", "region": region},
    )
    base = f"/api/v1/tenants/{tenant}"
    pump = {"id": "pump", "name": "Pump", "properties": [{"name": "temp", "unit": "°C"}]}
    api.ok("POST", f"{base}/device-types", root, json=pump)
    for device, identifier in devices.items():
        body = {"id": device, "name": device, "device_type": "pump", "identifier": identifier}
        api.ok("POST", f"{base}/devices", root, json=body)


def _ingest(api: Api, tenant: str, *devices: str) -> None:
    ts = time.time_ns() // 1_000_000
    rows = [{"device": d, "metric": "temp", "ts": ts, "value": 20.5} for d in devices]
    r = api.client.post(
        f"/api/v1/tenants/{tenant}/ingest",
        content=orjson.dumps(rows),
        headers={**api.as_admin(), "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == len(rows), r.text


def test_region_summary_numbers(any_api: Api) -> None:
    api, root = any_api, any_api.as_admin()
    # Ningxia: one tenant in Yinchuan (6401), one in Shizuishan (6402); one in Beijing; one
    # with no region at all. Only the first two are Ningxia's.
    _tenant(api, "nx-a", "640104", {"a1": "88.300.1/A1", "a2": "88.300.1/A2", "a3": None})
    _tenant(api, "nx-b", "640205", {"b1": None})
    _tenant(api, "bj", "110101", {"j1": "88.300.2/J1"})
    _tenant(api, "nowhere", None, {"n1": "88.300.3/N1"})
    for product, identifier in {"p1": "88.300.1/P1", "p2": None}.items():
        body = {"id": product, "name": product, "kind": "unit", "identifier": identifier}
        api.ok("POST", "/api/v1/tenants/nx-a/products", root, json=body)
    api.ok("PATCH", "/api/v1/tenants/nx-b", root, json={"status": "suspended"})
    installs = AppInstalls(api.platform.meta)
    installs.install("nx-a", "data_quality")
    installs.install("nx-b", "data_quality")
    installs.install("nx-b", "notes")
    installs.install("nx-b", "old", enabled=False)  # disabled: not installed
    installs.install("bj", "data_quality")
    # Online now: two of nx-a's devices sent data; so did Beijing's and the regionless one.
    _ingest(api, "nx-a", "a1", "a2")
    _ingest(api, "bj", "j1")
    _ingest(api, "nowhere", "n1")

    body = {"username": "nx-reg", "password": PASSWORD, "role": "region_viewer"}
    api.ok("POST", "/api/v1/users", root, json={**body, "region": "640000"})
    regulator = bearer(api.login("nx-reg"))

    for headers in (root, regulator):
        summary = api.ok("GET", "/api/v1/regions/640000/summary", headers)
        assert set(summary) == SUMMARY_KEYS
        assert summary["region"] == "640000"
        assert summary["tenants"] == 2
        assert summary["tenants_by_status"] == {"active": 1, "suspended": 1}
        assert summary["devices"] == 4
        assert summary["online"] == 2
        assert summary["identifiers"] == 3  # a1, a2 and p1
        assert summary["apps_installed"] == 3
        assert summary["apps"] == {"data_quality": 2, "notes": 1}
        assert summary["by_tenant"] == [
            {"id": "nx-a", "name": "nx-a Co", "devices": 3, "online": 2, "identifiers": 3},
            {"id": "nx-b", "name": "nx-b Co", "devices": 1, "online": 0, "identifiers": 0},
        ]

    yinchuan = api.ok("GET", "/api/v1/regions/640100/summary", regulator)
    assert [t["id"] for t in yinchuan["by_tenant"]] == ["nx-a"]
    assert (yinchuan["devices"], yinchuan["apps_installed"]) == (3, 1)
    beijing = api.ok("GET", "/api/v1/regions/110000/summary", root)
    assert (beijing["tenants"], beijing["devices"], beijing["online"]) == (1, 1, 1)
    assert (beijing["identifiers"], beijing["apps"]) == (1, {"data_quality": 1})
    assert api.client.get("/api/v1/regions/110000/summary", headers=regulator).status_code == 404
    empty = api.ok("GET", "/api/v1/regions/650000/summary", root)
    assert (empty["tenants"], empty["devices"], empty["by_tenant"]) == (0, 0, [])


def test_region_code_is_checked(api: Api) -> None:
    root = api.as_admin()
    for bad in ("990000", "64000", "6400000", "64000a"):
        r = api.client.get(f"/api/v1/regions/{bad}/summary", headers=root)
        assert r.status_code == 422, f"{bad}: {r.text}"
        assert r.json()["error"]["code"] == "invalid"
    assert api.client.get("/api/v1/regions/640000/summary").status_code == 401
