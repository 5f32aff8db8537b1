"""CRUD, paging, filtering, sorting and the audit trail of tenants, users, thing models,
devices and assets, through the real app."""

from __future__ import annotations

import pytest
from meta_world import Api, World


def _tenant(api: Api) -> dict[str, str]:
    root = api.as_admin()
    body = {
        "id": "acme",
        "name": "阿克米制造",
        "uscc": "91350100M000100Y43",
        "region": "350100",
        "industry": "machinery",
    }
    created = api.ok("POST", "/api/v1/tenants", root, json=body)
    assert created["status"] == "active"
    assert created["retention_days"] == 365
    return root


def test_tenant_lifecycle(api: Api) -> None:
    root = _tenant(api)
    dup = api.client.post("/api/v1/tenants", headers=root, json={"id": "acme", "name": "again"})
    assert dup.status_code == 409
    same_code = api.client.post(
        "/api/v1/tenants",
        headers=root,
        json={"id": "other", "name": "x", "uscc": "91350100M000100Y43"},
    )
    assert same_code.status_code == 409
    api.ok(
        "POST",
        "/api/v1/tenants/acme/users",
        root,
        json={"username": "boss", "password": "p" * 12, "role": "tenant_admin"},
    )
    boss = {"Authorization": f"Bearer {api.login('boss', 'p' * 12)}"}
    patched = api.ok(
        "PATCH", "/api/v1/tenants/acme", boss, json={"name": "Acme Ltd", "retention_days": 30}
    )
    assert patched["name"] == "Acme Ltd"
    assert patched["retention_days"] == 30
    r = api.client.patch("/api/v1/tenants/acme", headers=boss, json={"status": "active"})
    assert r.status_code == 403  # only the platform may (un)suspend
    page = api.ok("GET", "/api/v1/tenants?q=acme&sort=-created_at", root)
    assert page["total"] == 1
    assert page["items"][0]["id"] == "acme"


def test_devices_crud_filters_sort_and_directory(api: Api) -> None:
    root = _tenant(api)
    base = "/api/v1/tenants/acme"
    api.ok(
        "POST",
        f"{base}/device-types",
        root,
        json={
            "id": "pump",
            "name": "Pump",
            "properties": [
                {"name": "pressure", "type": "float", "unit": "bar", "min": 0, "max": 16},
                {"name": "running", "type": "bool"},
            ],
            "events": [
                {"name": "overheat", "level": "fault", "outputs": [{"name": "temp", "unit": "°C"}]}
            ],
            "services": [
                {
                    "name": "set_speed",
                    "inputs": [{"name": "rpm", "type": "int", "min": 0, "max": 3000}],
                }
            ],
        },
    )
    api.ok("POST", f"{base}/assets", root, json={"id": "plant", "name": "Plant", "kind": "site"})
    api.ok(
        "POST",
        f"{base}/assets",
        root,
        json={"id": "line1", "name": "Line 1", "kind": "line", "parent": "plant"},
    )
    for i in range(5):
        api.ok(
            "POST",
            f"{base}/devices",
            root,
            json={
                "id": f"pump-{i}",
                "name": f"Pump {i}",
                "device_type": "pump" if i % 2 == 0 else None,
                "asset": "line1" if i < 3 else None,
                "enabled": i != 4,
                "vendor": "Grundfos",
                "identifier": f"88.118.100/PUMP-{i}",
                "attributes": {"dn": 50, "atex": False},
            },
        )
    r = api.ok("GET", f"{base}/devices?device_type=pump&sort=-id&limit=2", root)
    assert r["total"] == 3
    assert [d["id"] for d in r["items"]] == ["pump-4", "pump-2"]
    r = api.ok("GET", f"{base}/devices?device_type=pump&sort=-id&limit=2&offset=2", root)
    assert [d["id"] for d in r["items"]] == ["pump-0"]
    assert api.ok("GET", f"{base}/devices?asset=line1", root)["total"] == 3
    assert api.ok("GET", f"{base}/devices?enabled=false", root)["items"][0]["id"] == "pump-4"
    assert api.ok("GET", f"{base}/devices?q=Pump%203", root)["total"] == 1
    # Ingest sees the thing model at once, from memory.
    ref = api.platform.directory.lookup("acme", "pump-0")
    assert ref is not None
    assert ref.metrics["pressure"].max == 16
    assert ref.metrics["running"].type == "bool"
    assert api.platform.directory.lookup("acme", "pump-4").enabled is False  # type: ignore[union-attr]
    # Changing the model changes what ingest validates against.
    api.ok(
        "PATCH",
        f"{base}/device-types/pump",
        root,
        json={"properties": [{"name": "pressure", "unit": "bar", "max": 25}]},
    )
    ref = api.platform.directory.lookup("acme", "pump-0")
    assert ref is not None
    assert set(ref.metrics) == {"pressure"}
    assert ref.metrics["pressure"].max == 25
    # Patch, clear, delete.
    d = api.ok(
        "PATCH",
        f"{base}/devices/pump-1",
        root,
        json={"device_type": "pump", "asset": None, "firmware": "2.1.0", "identifier": None},
    )
    assert d["device_type"] == "pump"
    assert d["asset"] is None
    assert d["identifier"] is None
    taken = api.client.patch(
        f"{base}/devices/pump-1", headers=root, json={"identifier": "88.118.100/PUMP-0"}
    )
    assert taken.status_code == 409
    in_use = api.client.delete(f"{base}/device-types/pump", headers=root)
    assert in_use.status_code == 409
    assert "used by 4 device(s)" in in_use.json()["error"]["message"]
    assert api.client.delete(f"{base}/devices/pump-0", headers=root).status_code == 204
    assert api.platform.directory.lookup("acme", "pump-0") is None
    assert api.client.get(f"{base}/devices/pump-0", headers=root).status_code == 404


@pytest.mark.postgres
def test_devices_on_postgresql(pg_api: Api) -> None:
    """The same scenario with the metadata in PostgreSQL."""
    test_devices_crud_filters_sort_and_directory(pg_api)


def test_device_gateways(api: Api) -> None:
    """A gateway is an existing device of the same tenant, one level deep; the directory and the
    ``?gateway=`` filter follow every change; a gateway with devices cannot be deleted."""
    root = _tenant(api)
    api.ok("POST", "/api/v1/tenants", root, json={"id": "bolt", "name": "Bolt"})
    api.ok("POST", "/api/v1/tenants/bolt/devices", root, json={"id": "gw-b", "name": "GW B"})
    base = "/api/v1/tenants/acme/devices"
    api.ok("POST", base, root, json={"id": "gw-1", "name": "Edge 1"})
    api.ok("POST", base, root, json={"id": "gw-2", "name": "Edge 2"})
    plc = api.ok("POST", base, root, json={"id": "plc-1", "name": "PLC 1", "gateway": "gw-1"})
    assert plc["gateway"] == "gw-1"
    api.ok("POST", base, root, json={"id": "plc-2", "name": "PLC 2", "gateway": "gw-1"})
    directory = api.platform.directory
    assert directory.lookup("acme", "plc-1").gateway == "gw-1"  # type: ignore[union-attr]
    assert directory.children("acme", "gw-1") == {"plc-1", "plc-2"}

    def refused(method: str, url: str, body: dict[str, object], status: int, text: str) -> None:
        r = api.client.request(method, url, headers=root, json=body)
        assert r.status_code == status, r.text
        assert text in r.json()["error"]["message"]

    refused("POST", base, {"id": "x", "name": "X", "gateway": "nope"}, 422, "unknown gateway")
    refused("POST", base, {"id": "x", "name": "X", "gateway": "gw-b"}, 422, "unknown gateway")
    refused("POST", base, {"id": "x", "name": "X", "gateway": "x"}, 422, "its own gateway")
    refused("POST", base, {"id": "x", "name": "X", "gateway": "plc-1"}, 422, "one level only")
    refused("PATCH", f"{base}/gw-1", {"gateway": "gw-2"}, 422, "gateway of 2 device(s)")
    refused("PATCH", f"{base}/gw-2", {"gateway": "gw-2"}, 422, "its own gateway")
    refused("POST", base, {"id": "x", "name": "X", "gateway": "bad/id"}, 422, "gateway")
    assert api.client.get(f"{base}/x", headers=root).status_code == 404  # nothing half-made

    page = api.ok("GET", f"{base}?gateway=gw-1&sort=id", root)
    assert [d["id"] for d in page["items"]] == ["plc-1", "plc-2"]
    moved = api.ok("PATCH", f"{base}/plc-2", root, json={"gateway": "gw-2"})
    assert moved["gateway"] == "gw-2"
    assert directory.children("acme", "gw-1") == {"plc-1"}
    assert directory.children("acme", "gw-2") == {"plc-2"}
    refused("DELETE", f"{base}/gw-1", {}, 409, "still the gateway of 1 device(s)")
    assert api.ok("PATCH", f"{base}/plc-1", root, json={"gateway": None})["gateway"] is None
    assert directory.children("acme", "gw-1") == frozenset()
    assert directory.lookup("acme", "plc-1").gateway is None  # type: ignore[union-attr]
    assert api.client.delete(f"{base}/gw-1", headers=root).status_code == 204
    assert api.client.delete(f"{base}/plc-2", headers=root).status_code == 204
    assert directory.children("acme", "gw-2") == frozenset()


@pytest.mark.postgres
def test_device_gateways_on_postgresql(pg_api: Api) -> None:
    test_device_gateways(pg_api)


def test_asset_tree_rules(api: Api) -> None:
    root = _tenant(api)
    base = "/api/v1/tenants/acme/assets"
    api.ok("POST", base, root, json={"id": "s1", "name": "Site", "kind": "site"})
    api.ok("POST", base, root, json={"id": "l1", "name": "Line", "kind": "line", "parent": "s1"})
    api.ok("POST", base, root, json={"id": "c1", "name": "Cell", "kind": "cell", "parent": "l1"})
    api.ok(
        "POST",
        base,
        root,
        json={"id": "g1", "name": "Group", "kind": "device-group", "parent": "c1"},
    )
    api.ok(
        "POST", base, root, json={"id": "g2", "name": "Sub", "kind": "device-group", "parent": "g1"}
    )
    bad = api.client.post(base, headers=root, json={"id": "l2", "name": "x", "kind": "line"})
    assert bad.status_code == 422
    assert "a line must be under site" in bad.json()["error"]["message"]
    nested_site = api.client.post(
        base, headers=root, json={"id": "s2", "name": "x", "kind": "site", "parent": "s1"}
    )
    assert nested_site.status_code == 422
    cycle = api.client.patch(f"{base}/g1", headers=root, json={"parent": "g2"})
    assert cycle.status_code == 422
    assert "cycle" in cycle.json()["error"]["message"]
    api.ok(
        "POST", "/api/v1/tenants/acme/devices", root, json={"id": "m1", "name": "M", "asset": "g2"}
    )
    tree = api.ok("GET", "/api/v1/tenants/acme/asset-tree", root)
    assert tree[0]["id"] == "s1"
    g2 = tree[0]["children"][0]["children"][0]["children"][0]["children"][0]
    assert g2["id"] == "g2"
    assert g2["devices"] == ["m1"]
    busy = api.client.delete(f"{base}/g2", headers=root)
    assert busy.status_code == 409
    assert "1 device(s)" in busy.json()["error"]["message"]
    assert api.client.delete(f"{base}/s1", headers=root).status_code == 409
    assert api.ok("GET", f"{base}?kind=device-group&sort=-id", root)["items"][0]["id"] == "g2"


def test_users_management(world: World) -> None:
    api, a = world.api, world.a
    base = "/api/v1/tenants/acme/users"
    page = api.ok("GET", f"{base}?sort=-username", a.admin)
    assert [u["username"] for u in page["items"]] == [
        "acme-viewer",
        "acme-tenant_admin",
        "acme-operator",
    ]
    assert "password_hash" not in page["items"][0]
    assert api.ok("GET", f"{base}?role=viewer", a.admin)["total"] == 1
    taken = api.client.post(
        base,
        headers=a.admin,
        json={"username": "bolt-viewer", "password": "p" * 12, "role": "viewer"},
    )
    assert taken.status_code == 409  # usernames are global; the message names no tenant
    assert "bolt" not in taken.json()["error"]["message"].replace("bolt-viewer", "")
    escalate = api.client.post(
        base,
        headers=a.admin,
        json={"username": "sneaky", "password": "p" * 12, "role": "platform_admin"},
    )
    assert escalate.status_code == 422
    self_demote = api.client.patch(
        f"{base}/acme-tenant_admin", headers=a.admin, json={"role": "viewer"}
    )
    assert self_demote.status_code == 409
    # Another tenant's user is not found through this tenant.
    assert api.client.get(f"{base}/bolt-viewer", headers=a.admin).status_code == 404


def test_every_mutation_is_audited_with_its_result(world: World) -> None:
    api, a = world.api, world.a
    base = "/api/v1/tenants/acme"
    api.client.post(f"{base}/devices", headers=a.operator, json={"id": "pump-1", "name": "dup"})
    api.ok("POST", f"{base}/devices", a.operator, json={"id": "audited-1", "name": "A"})
    api.ok("DELETE", f"{base}/devices/audited-1", a.operator)
    trail = api.ok("GET", f"{base}/audit?actor=acme-operator&limit=3", a.admin)["items"]
    assert [(e["action"], e["object_id"], e["result"]) for e in trail] == [
        ("device.delete", "audited-1", "ok"),
        ("device.create", "audited-1", "ok"),
        ("device.create", "pump-1", "conflict"),
    ]
    # Tenant B's trail holds none of it.
    b_trail = api.ok("GET", "/api/v1/tenants/bolt/audit?limit=1000", world.b.admin)["items"]
    assert all(e["tenant_id"] == "bolt" for e in b_trail)
    assert api.client.get(f"{base}/audit", headers=a.operator).status_code == 403
