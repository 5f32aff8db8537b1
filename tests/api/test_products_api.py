"""Products through the real app: CRUD, the bulk route, references to devices and batches,
identifiers shared with devices, and what one tenant sees of another's."""

from __future__ import annotations

from typing import Any

import pytest
from meta_world import Api, World

PREFIX = "88.118.100"
ACME = "/api/v1/tenants/acme"
PRODUCTS = f"{ACME}/products"
BULK = f"{ACME}/products:bulk"


def _acme(api: Api) -> dict[str, str]:
    """Tenant acme with a prefix and the press that makes its products."""
    root = api.as_admin()
    body = {"id": "acme", "name": "阿克米制造", "ident_prefix": PREFIX}
    api.ok("POST", "/api/v1/tenants", root, json=body)
    api.ok("POST", f"{ACME}/devices", root, json={"id": "press-1", "name": "Press 1"})
    return root


def _error(api: Api, method: str, url: str, headers: dict[str, str], status: int, **kw: Any) -> Any:
    r = api.client.request(method, url, headers=headers, **kw)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["message"]
    return error


def test_products_crud_filters_sort_and_audit(api: Api) -> None:
    root = _acme(api)
    batch = api.ok(
        "POST",
        PRODUCTS,
        root,
        json={
            "id": "B-001",
            "name": "Housing lot 1",
            "kind": "batch",
            "made_by": "press-1",
            "produced_at": "2026-03-01T08:00:00+08:00",
        },
    )
    assert batch["identifier"] == f"{PREFIX}/B-001"
    assert batch["produced_at"] == "2026-03-01T00:00:00Z"
    for i in range(3):
        unit = api.ok(
            "POST",
            PRODUCTS,
            root,
            json={
                "id": f"SN-{i}",
                "name": f"Housing {i}",
                "model": "H-200",
                "batch": "B-001",
                "made_by": "press-1" if i < 2 else None,
                "attributes": {"colour": "red", "mass_g": 412.5},
            },
        )
        assert (unit["kind"], unit["batch"], unit["identifier"]) == (
            "unit",
            "B-001",
            f"{PREFIX}/SN-{i}",
        )
    part = api.ok(
        "POST",
        PRODUCTS,
        root,
        json={"id": "P-1", "name": "Seal", "kind": "part", "identifier": None},
    )
    assert part["identifier"] is None
    placed = api.ok(
        "POST",
        PRODUCTS,
        root,
        json={"id": "P-2", "name": "Seal", "kind": "part", "identifier": f"{PREFIX}.7/line-a/P-2"},
    )
    assert placed["identifier"] == f"{PREFIX}.7/line-a/P-2"

    page = api.ok("GET", f"{PRODUCTS}?kind=unit&sort=-id&limit=2", root)
    assert page["total"] == 3
    assert [p["id"] for p in page["items"]] == ["SN-2", "SN-1"]
    assert (
        api.ok("GET", f"{PRODUCTS}?kind=unit&sort=-id&offset=2", root)["items"][0]["id"] == "SN-0"
    )
    assert api.ok("GET", f"{PRODUCTS}?batch=B-001", root)["total"] == 3
    made = api.ok("GET", f"{PRODUCTS}?made_by=press-1&sort=id", root)["items"]
    assert [p["id"] for p in made] == ["B-001", "SN-0", "SN-1"]
    assert api.ok("GET", f"{PRODUCTS}?q=seal", root)["total"] == 2
    error = _error(api, "GET", f"{PRODUCTS}?sort=attributes", root, 422)
    assert error["code"] == "invalid_sort"
    assert "allowed: created_at, id, kind, name, produced_at, updated_at" in error["message"]
    error = _error(api, "GET", f"{PRODUCTS}?kind=pallet", root, 422)
    assert "kind" in error["message"]

    got = api.ok("GET", f"{PRODUCTS}/SN-0", root)
    assert got["attributes"] == {"colour": "red", "mass_g": 412.5}
    assert got["made_by"] == "press-1"
    patched = api.ok(
        "PATCH",
        f"{PRODUCTS}/SN-0",
        root,
        json={"name": "Housing 0 (reworked)", "model": None, "attributes": None, "made_by": None},
    )
    assert (patched["name"], patched["model"], patched["attributes"], patched["made_by"]) == (
        "Housing 0 (reworked)",
        None,
        {},
        None,
    )
    assert patched["identifier"] == f"{PREFIX}/SN-0"  # untouched when not sent
    error = _error(api, "PATCH", f"{PRODUCTS}/SN-0", root, 422, json={"name": None})
    assert "name may be changed but not cleared" in error["message"]
    # A batch with members keeps its kind and stays; so does the device that made products.
    error = _error(api, "PATCH", f"{PRODUCTS}/B-001", root, 409, json={"kind": "unit"})
    assert "has 3 member(s)" in error["message"]
    error = _error(api, "DELETE", f"{PRODUCTS}/B-001", root, 409)
    assert "still has 3 member(s)" in error["message"]
    error = _error(api, "DELETE", f"{ACME}/devices/press-1", root, 409)
    assert "made 2 product(s)" in error["message"]
    for i in range(3):
        assert api.client.delete(f"{PRODUCTS}/SN-{i}", headers=root).status_code == 204
    assert api.client.delete(f"{PRODUCTS}/B-001", headers=root).status_code == 204
    assert api.client.delete(f"{ACME}/devices/press-1", headers=root).status_code == 204
    error = _error(api, "GET", f"{PRODUCTS}/SN-0", root, 404)
    assert error == {"code": "not_found", "message": "product 'SN-0' not found"}
    assert _error(api, "DELETE", f"{PRODUCTS}/SN-0", root, 404)["code"] == "not_found"

    trail = api.ok("GET", f"{ACME}/audit?action=product.delete&limit=1", root)["items"]
    assert [(e["action"], e["object_id"], e["result"]) for e in trail] == [
        ("product.delete", "SN-0", "not_found")
    ]
    trail = api.ok("GET", f"{ACME}/audit?action=product.update&limit=2", root)["items"]
    assert [(e["object_id"], e["result"]) for e in trail] == [
        ("B-001", "conflict"),
        ("SN-0", "ok"),  # the patch with a null name was refused before it began
    ]


@pytest.mark.postgres
def test_products_on_postgresql(pg_api: Api) -> None:
    """The same scenario with the metadata in PostgreSQL."""
    test_products_crud_filters_sort_and_audit(pg_api)


def test_references_and_identifiers_are_checked(api: Api) -> None:
    root = _acme(api)
    api.ok("POST", PRODUCTS, root, json={"id": "B-1", "name": "Lot", "kind": "batch"})
    api.ok("POST", PRODUCTS, root, json={"id": "U-1", "name": "Unit"})
    for body, status, code, fragment in [
        ({"made_by": "ghost"}, 422, "unknown_reference", "unknown device 'ghost' (made_by)"),
        ({"batch": "ghost"}, 422, "unknown_reference", "unknown batch 'ghost'"),
        ({"batch": "U-1"}, 422, "not_a_batch", "product 'U-1' is a unit, not a batch"),
        ({"batch": "X"}, 422, "invalid", "cannot be its own batch"),
        ({"kind": "batch", "batch": "B-1"}, 422, "invalid", "batches do not nest"),
        ({"identifier": "88.118.200/X"}, 422, "foreign_prefix", "not under this tenant's prefix"),
        ({"id": "U-1"}, 409, "conflict", "product 'U-1' already exists"),
        # The default identifier of a product named like a device is the device's: refused.
        ({"id": "press-1"}, 409, "conflict", "already held by device 'press-1'"),
        ({"id": "PRESS-1"}, 409, "conflict", "send another identifier, or null for none"),
        ({"identifier": f"{PREFIX}/u-1"}, 409, "conflict", "already held by product 'U-1'"),
        ({"produced_at": "2026-03-01T08:00:00"}, 422, "invalid", "timezone"),
        ({"kind": "pallet"}, 422, "invalid", "kind"),
        ({"colour": "red"}, 422, "invalid", "colour"),
        ({"attributes": {f"k{i}": i for i in range(65)}}, 422, "invalid", "attributes"),
        ({"id": "../etc"}, 422, "invalid", "invalid device id"),
    ]:
        error = _error(api, "POST", PRODUCTS, root, status, json={"id": "X", "name": "X"} | body)
        assert (error["code"], fragment in error["message"]) == (code, True), (body, error)
    assert api.ok("GET", PRODUCTS, root)["total"] == 2  # nothing of it was written
    # Opting out of the identifier leaves the device's alone.
    twin = api.ok("POST", PRODUCTS, root, json={"id": "press-1", "name": "P", "identifier": None})
    assert twin["identifier"] is None
    # And the reverse: a device named like a product does not take the product's identifier.
    r = api.client.post(f"{ACME}/devices", headers=root, json={"id": "u-1", "name": "D"})
    assert r.status_code == 409, r.text
    assert "already held by product 'U-1'" in r.json()["error"]["message"]
    r = api.client.patch(
        f"{ACME}/devices/press-1", headers=root, json={"identifier": f"{PREFIX}/B-1"}
    )
    assert r.status_code == 409, r.text
    # Patches follow the same rules.
    for body, status, fragment in [
        ({"batch": "press-1"}, 422, "is a unit, not a batch"),
        ({"batch": "U-1"}, 422, "cannot be its own batch"),
        ({"kind": "batch"}, 422, "batches do not nest"),
        ({"identifier": f"{PREFIX}/press-1"}, 409, "device 'press-1'"),
        ({"identifier": "86.1/U-1"}, 422, "not under this tenant's prefix"),
        ({"made_by": "ghost"}, 422, "unknown device"),
        ({"kind": None}, 422, "kind may be changed but not cleared"),
    ]:
        api.ok("PATCH", f"{PRODUCTS}/U-1", root, json={"batch": "B-1"})
        error = _error(api, "PATCH", f"{PRODUCTS}/U-1", root, status, json=body)
        assert fragment in error["message"], (body, error)
    moved = api.ok("PATCH", f"{PRODUCTS}/U-1", root, json={"batch": None, "kind": "batch"})
    assert (moved["kind"], moved["batch"]) == ("batch", None)
    error = _error(api, "PATCH", f"{PRODUCTS}/ghost", root, 404, json={"name": "x"})
    assert error["message"] == "product 'ghost' not found"


def test_bulk_create_is_all_or_nothing(api: Api) -> None:
    root = _acme(api)
    api.ok("POST", PRODUCTS, root, json={"id": "U-0", "name": "Unit 0"})
    # Members may come before their batch in the list.
    items = [
        {"id": f"U-{i}", "name": f"Unit {i}", "batch": "L-1", "made_by": "press-1"}
        for i in range(1, 200)
    ]
    created = api.ok(
        "POST", BULK, root, json=[*items, {"id": "L-1", "name": "Lot 1", "kind": "batch"}]
    )
    assert created["created"] == 200
    assert [p["id"] for p in created["items"][:2]] == ["U-1", "U-2"]  # the request's order
    assert created["items"][-1]["identifier"] == f"{PREFIX}/L-1"
    assert created["items"][0]["identifier"] == f"{PREFIX}/U-1"
    assert api.ok("GET", f"{PRODUCTS}?batch=L-1", root)["total"] == 199

    bad = [
        {"id": "N-1", "name": "fine"},
        {"id": "N-1", "name": "same id again"},
        {"id": "U-0", "name": "exists"},
        {"id": "N-2", "name": "x", "made_by": "ghost"},
        {"id": "press-1", "name": "default identifier is the device's"},
        {"id": "N-3", "name": "x", "identifier": "88.118.200/N-3"},
        {"id": "N-4", "name": "x", "batch": "U-0"},
        {"id": "N-5", "name": "x", "identifier": f"{PREFIX}/n-6"},
        {"id": "N-6", "name": "case variant of the one before"},
        {"id": "N-7", "name": "x", "batch": "N-8"},
        {"id": "N-8", "name": "a unit, not a batch"},
    ]
    r = api.client.post(BULK, headers=root, json=bad)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"].startswith("9 error(s) in 11 products, none created; first: item 1")
    assert [(d["loc"], d["type"]) for d in error["details"]] == [
        (["body", 1, "id"], "conflict"),
        (["body", 1, "identifier"], "conflict"),  # N-1's default identifier, twice
        (["body", 2, "id"], "conflict"),
        (["body", 3, "made_by"], "unknown_reference"),
        (["body", 4, "identifier"], "conflict"),
        (["body", 5, "identifier"], "foreign_prefix"),
        (["body", 6, "batch"], "not_a_batch"),
        (["body", 8, "identifier"], "conflict"),
        (["body", 9, "batch"], "not_a_batch"),
    ]
    assert "already held by device 'press-1'" in error["details"][4]["message"]
    assert "also claimed by item 7 ('N-5')" in error["details"][7]["message"]
    assert api.ok("GET", PRODUCTS, root)["total"] == 201  # nothing of it was written

    # Only conflicts: 409, same shape.
    r = api.client.post(BULK, headers=root, json=[{"id": "U-1", "name": "again"}])
    assert r.status_code == 409, r.text
    assert r.json()["error"]["details"] == [
        {"loc": ["body", 0, "id"], "message": "product 'U-1' already exists", "type": "conflict"}
    ]
    # Schema errors name the item, as for any request body.
    r = api.client.post(BULK, headers=root, json=[{"id": "N-9", "name": "x"}, {"id": "N-10"}])
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["loc"] == ["body", 1, "name"]
    for body in ([], {"id": "N-9", "name": "x"}):
        assert _error(api, "POST", BULK, root, 422, json=body)["code"] == "invalid"
    too_many = [{"id": f"T-{i}", "name": "t"} for i in range(10_001)]
    error = _error(api, "POST", BULK, root, 422, json=too_many)
    assert "10000" in error["message"]

    trail = api.ok("GET", f"{ACME}/audit?action=product.bulk_create", root)["items"]
    assert [(e["object_id"], e["result"], e["detail"].get("count")) for e in trail[-1:]] == [
        ("U-1..L-1", "ok", 200)
    ]


def test_products_stay_inside_their_tenant(world: World) -> None:
    api, a, b = world.api, world.a, world.b
    mine = api.ok(
        "POST", PRODUCTS, a.operator, json={"id": "iso-1", "name": "Unit", "made_by": a.device}
    )
    assert mine["made_by"] == a.device
    # Tenant B names its own device pump-1 too; acme's product is not B's to see or change.
    bolt = "/api/v1/tenants/bolt/products"
    assert api.ok("GET", f"{bolt}?made_by={a.device}", b.admin)["total"] == 0
    assert api.client.get(f"{bolt}/iso-1", headers=b.admin).status_code == 404
    r = api.client.post(
        f"{bolt}", headers=b.operator, json={"id": "b-1", "name": "B", "batch": "iso-1"}
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "unknown_reference"
    # A read-only devices key reads products; a key for telemetry does not; a viewer reads only.
    assert api.ok("GET", PRODUCTS, a.keys["devices_read"])["total"] >= 1
    r = api.client.get(PRODUCTS, headers=a.keys["telemetry_write"])
    assert r.status_code == 403
    assert "(devices)" in r.json()["error"]["message"]
    r = api.client.post(BULK, headers=a.viewer, json=[{"id": "v-1", "name": "V"}])
    assert r.status_code == 403
    r = api.client.post(BULK, headers=a.keys["devices_read"], json=[{"id": "v-1", "name": "V"}])
    assert r.status_code == 403
    r = api.client.post(BULK, headers=a.keys["telemetry_write"], json=[{"id": "v-1", "name": "V"}])
    assert r.status_code == 403
    assert "lacks the scope for this resource (devices)" in r.json()["error"]["message"]
    assert api.client.get(f"{PRODUCTS}/v-1", headers=a.admin).status_code == 404
