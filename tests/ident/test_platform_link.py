"""The platform's embedded identifier node: tenants' prefixes, devices' identifiers, served over
the Handle wire protocol (UDP) and Handle.Net's REST API by a real platform (SQLite metadata,
LMDB records) behind the real app."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute
from pydantic import SecretStr
from starlette.routing import Route
from tests.conftest import free_port

from helan.admin.bootstrap import bootstrap_admin
from helan.api.app import create_app
from helan.config import Settings
from helan.ident.codes import ResponseCode
from helan.ident.link.service import IdentLink
from helan.ident.model import Handle
from helan.ident.server.client import HandleClient, Target
from helan.ident.trust.signing import published_key, verify_values
from helan.ident.wire import messages as m
from helan.ident.wire.records import decode_admin, decode_values
from helan.platform import Platform
from helan.security.crypto.sm2 import PrivateKey
from helan.storage.meta.models import Product

PREFIX = "88.118.100"
BASE = "https://helan.example.com"
PASSWORD = "correct horse battery staple"
SECRET = "prefix-admin-secret"


@dataclass
class World:
    platform: Platform
    http: httpx.AsyncClient
    admin: dict[str, str]
    port: int

    @property
    def link(self) -> IdentLink:
        assert self.platform.ident is not None
        return self.platform.ident

    async def call(self, method: str, url: str, headers: dict[str, str], **kw: Any) -> Any:
        r = await self.http.request(method, url, headers=headers, **kw)
        assert r.status_code < 300, f"{method} {url}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    async def login(self, username: str, password: str = PASSWORD) -> dict[str, str]:
        body = {"username": username, "password": password}
        r = await self.http.post("/api/v1/auth/token", json=body)
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def _world(data_dir: Path, port: int, sign_key: str = "") -> tuple[World, Platform]:
    settings = Settings(
        data_dir=data_dir,
        ident_port=port,
        public_base_url=BASE + "/",
        ident_admin_secret=SecretStr(SECRET),
        ident_sign_key=SecretStr(sign_key),
    )
    platform = Platform.build(settings)
    password = bootstrap_admin(platform.meta)
    assert password is not None
    assert platform.ident is not None
    await platform.start(mqtt=False)  # as `helan run` does, less the broker
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(platform)), base_url="http://platform"
    )
    world = World(platform, http, {}, port)
    world.admin = await world.login("admin", password)
    return world, platform


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    w, platform = await _world(tmp_path / "var", free_port())
    await w.call("POST", "/api/v1/tenants", w.admin, json=_tenant("acme", PREFIX))
    await w.call(
        "POST",
        "/api/v1/tenants/acme/device-types",
        w.admin,
        json={"id": "pump", "name": "Centrifugal pump"},
    )
    yield w
    await w.http.aclose()
    await platform.stop()


def _tenant(tenant: str, prefix: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": tenant, "name": f"{tenant} 有限公司"}
    if prefix is not None:
        body["ident_prefix"] = prefix
    return body


async def _resolve(w: World, handle: str) -> m.Message:
    client = HandleClient(timeout=2.0)
    try:
        return await client.resolve(Target("127.0.0.1", w.port), handle)
    finally:
        client.close()


async def _udp_values(w: World, handle: str) -> dict[str, bytes]:
    reply = await _resolve(w, handle)
    assert reply.rc == ResponseCode.SUCCESS, reply.body
    assert isinstance(reply.body, m.ResolutionResponse)
    return {v.type: v.data for v in decode_values(reply.body.values)}


async def _rest_values(w: World, handle: str) -> dict[str, Any]:
    r = await w.http.get(f"/api/handles/{handle}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["responseCode"] == 1
    assert body["handle"] == handle
    return {v["type"]: v["data"]["value"] for v in body["values"]}


async def _create_pump(w: World, **extra: Any) -> dict[str, Any]:
    body = {
        "id": "pump-1",
        "name": "Feed pump 1",
        "device_type": "pump",
        "vendor": "Grundfos",
        "model": "CR 45",
    } | extra
    device: dict[str, Any] = await w.call(
        "POST", "/api/v1/tenants/acme/devices", w.admin, json=body
    )
    return device


async def test_device_identifier_resolves_over_udp_and_rest(world: World) -> None:
    device = await _create_pump(world)
    ident = f"{PREFIX}/pump-1"
    assert device["identifier"] == ident
    assert "password" not in orjson.dumps(await _rest_values(world, ident)).decode()

    url = f"{BASE}/api/v1/tenants/acme/devices/pump-1"
    description = {
        "name": "Feed pump 1",
        "type": {"id": "pump", "name": "Centrifugal pump"},
        "vendor": "Grundfos",
        "model": "CR 45",
        "tenant": "acme 有限公司",
    }
    wire = await _udp_values(world, ident)
    assert wire["URL"].decode() == url
    assert orjson.loads(wire["HELAN_DEVICE"]) == description
    admin = decode_admin(wire["HS_ADMIN"])
    assert (admin.handle, admin.index) == (f"0.NA/{PREFIX}", 300)

    rest = await _rest_values(world, ident)
    assert rest["URL"] == url
    assert orjson.loads(rest["HELAN_DEVICE"]) == description
    assert rest["HS_ADMIN"]["handle"] == f"0.NA/{PREFIX}"
    # Handles compare case-insensitively, over both doors.
    assert (await _udp_values(world, f"{PREFIX}/PUMP-1"))["URL"].decode() == url
    # The prefix record names this node and never shows the admin secret.
    prefix_record = await _udp_values(world, f"0.NA/{PREFIX}")
    assert "HS_SITE" in prefix_record
    assert "HS_SECKEY" not in prefix_record
    assert prefix_record["HELAN_TENANT"] == b"acme"


async def test_update_rewrites_and_delete_removes_the_record(world: World) -> None:
    await _create_pump(world)
    ident = f"{PREFIX}/pump-1"
    await _udp_values(world, ident)  # cached by the node from now on
    await world.call(
        "PATCH",
        "/api/v1/tenants/acme/devices/pump-1",
        world.admin,
        json={"name": "Feed pump 1 (rebuilt)", "vendor": "KSB", "model": None},
    )
    wire = orjson.loads((await _udp_values(world, ident))["HELAN_DEVICE"])
    assert (wire["name"], wire["vendor"], wire["model"]) == ("Feed pump 1 (rebuilt)", "KSB", None)
    # The tenant's and the device type's names are part of the description too.
    await world.call("PATCH", "/api/v1/tenants/acme", world.admin, json={"name": "ACME Pumps"})
    await world.call(
        "PATCH", "/api/v1/tenants/acme/device-types/pump", world.admin, json={"name": "Pump"}
    )
    rest = orjson.loads((await _rest_values(world, ident))["HELAN_DEVICE"])
    assert (rest["tenant"], rest["type"]["name"]) == ("ACME Pumps", "Pump")

    # A new identifier moves the record; clearing it removes the record.
    new_ident = f"{PREFIX}.7/line-a/pump-1"
    await world.call(
        "PATCH",
        "/api/v1/tenants/acme/devices/pump-1",
        world.admin,
        json={"identifier": new_ident},
    )
    assert (await _resolve(world, ident)).rc == ResponseCode.HANDLE_NOT_FOUND
    assert (await _udp_values(world, new_ident))["URL"].decode().endswith("/devices/pump-1")

    r = await world.http.delete("/api/v1/tenants/acme/devices/pump-1", headers=world.admin)
    assert r.status_code == 204
    gone = await _resolve(world, new_ident)
    assert gone.rc == ResponseCode.HANDLE_NOT_FOUND
    r = await world.http.get(f"/api/handles/{new_ident}")
    assert (r.status_code, r.json()["responseCode"]) == (404, 100)


async def test_identifiers_stay_inside_the_tenants_prefix(world: World) -> None:
    await world.call("POST", "/api/v1/tenants", world.admin, json=_tenant("bolt", "88.118.200"))
    await world.call("POST", "/api/v1/tenants", world.admin, json=_tenant("cask"))
    devices = "/api/v1/tenants/{}/devices"
    for tenant, identifier in [
        ("acme", "88.118.200/x-1"),  # another enterprise's prefix
        ("acme", "88.118/x-1"),  # the parent, not under acme's prefix
        ("acme", "88.118.1000/x-1"),  # a sibling that only starts with the same digits
        ("bolt", f"{PREFIX}/x-1"),
        ("cask", f"{PREFIX}.3/x-1"),  # a tenant without a prefix may not use another's
    ]:
        r = await world.http.post(
            devices.format(tenant),
            headers=world.admin,
            json={"id": "x-1", "name": "X", "identifier": identifier},
        )
        assert r.status_code == 422, (tenant, identifier, r.text)
        assert r.json()["error"]["code"] == "foreign_prefix"
        assert (await _resolve(world, identifier)).rc != ResponseCode.SUCCESS
    # A prefix-less tenant keeps free identifiers (registered elsewhere, not served here).
    r = await world.http.post(
        devices.format("cask"),
        headers=world.admin,
        json={"id": "x-1", "name": "X", "identifier": "86.100.1/x-1"},
    )
    assert r.status_code == 201, r.text
    assert (await _resolve(world, "86.100.1/x-1")).rc == ResponseCode.SERVER_NOT_RESP
    # A device id differing only in case would get the same handle: refused, not overwritten.
    await _create_pump(world)
    r = await world.http.post(
        devices.format("acme"), headers=world.admin, json={"id": "PUMP-1", "name": "P"}
    )
    assert r.status_code == 409, r.text
    assert "case-insensitively" in r.json()["error"]["message"]
    # A patch cannot move an identifier out either; an explicit null opts out on create.
    r = await world.http.patch(
        devices.format("acme") + "/pump-1",
        headers=world.admin,
        json={"identifier": "88.118.200/pump-1"},
    )
    assert r.status_code == 422
    plain = await world.call(
        "POST",
        devices.format("acme"),
        world.admin,
        json={"id": "p2", "name": "P", "identifier": None},
    )
    assert plain["identifier"] is None
    assert (await _resolve(world, f"{PREFIX}/p2")).rc == ResponseCode.HANDLE_NOT_FOUND


async def test_only_a_platform_admin_sets_a_valid_unique_prefix(world: World) -> None:
    await world.call(
        "POST",
        "/api/v1/tenants/acme/users",
        world.admin,
        json={"username": "acme-admin", "password": PASSWORD, "role": "tenant_admin"},
    )
    tenant_admin = await world.login("acme-admin")
    r = await world.http.patch(
        "/api/v1/tenants/acme", headers=tenant_admin, json={"ident_prefix": "88.118.101"}
    )
    assert r.status_code == 403, r.text
    r = await world.http.patch(
        "/api/v1/tenants/acme", headers=tenant_admin, json={"name": "still allowed"}
    )
    assert r.status_code == 200
    assert r.json()["ident_prefix"] == PREFIX

    for bad in ("0.NA", "0", "88..1", "88_1", "88.118/1", "８８", "88." + "1" * 70):
        r = await world.http.post("/api/v1/tenants", headers=world.admin, json=_tenant("x", bad))
        assert r.status_code == 422, (bad, r.text)
    for taken in (PREFIX, "88.118.100.5", "88.118", "88"):
        r = await world.http.post("/api/v1/tenants", headers=world.admin, json=_tenant("y", taken))
        assert r.status_code == 409, (taken, r.text)
        assert "overlaps" in r.json()["error"]["message"]
    # A prefix already holding another tenant's identifiers cannot be handed to a new tenant.
    await world.call("POST", "/api/v1/tenants", world.admin, json=_tenant("cask"))
    await world.call(
        "POST",
        "/api/v1/tenants/cask/devices",
        world.admin,
        json={"id": "c1", "name": "C", "identifier": "86.1/c1"},
    )
    r = await world.http.post("/api/v1/tenants", headers=world.admin, json=_tenant("z", "86"))
    assert r.status_code == 409
    assert "86.1/c1" in r.json()["error"]["message"]


async def test_prefix_change_needs_the_old_identifiers_gone(world: World) -> None:
    await _create_pump(world)
    r = await world.http.patch(
        "/api/v1/tenants/acme", headers=world.admin, json={"ident_prefix": "88.118.101"}
    )
    assert r.status_code == 409, r.text
    assert (await _udp_values(world, f"{PREFIX}/pump-1"))["URL"]
    await world.call("DELETE", "/api/v1/tenants/acme/devices/pump-1", world.admin)
    moved = await world.call(
        "PATCH", "/api/v1/tenants/acme", world.admin, json={"ident_prefix": "88.118.101"}
    )
    assert moved["ident_prefix"] == "88.118.101"
    assert world.link.prefixes == {"acme": "88.118.101"}
    # The old prefix is no longer homed here: its record is gone, its handles are not ours.
    assert (await _resolve(world, f"0.NA/{PREFIX}")).rc == ResponseCode.SERVER_NOT_RESP
    assert (await _resolve(world, f"{PREFIX}/pump-1")).rc == ResponseCode.SERVER_NOT_RESP
    device = await _create_pump(world)
    assert device["identifier"] == "88.118.101/pump-1"
    assert (await _udp_values(world, "88.118.101/pump-1"))["URL"]


async def test_prefix_admin_writes_over_rest_and_keeps_its_values(world: World) -> None:
    await _create_pump(world)
    token = base64.b64encode(f"300%3A0.NA/{PREFIX}:{SECRET}".encode()).decode()
    basic = {"Authorization": f"Basic {token}"}
    email = {"index": 5, "type": "EMAIL", "data": {"format": "string", "value": "ops@acme.cn"}}
    r = await world.http.put(
        f"/api/handles/{PREFIX}/pump-1?index=5", headers=basic, json={"values": [email]}
    )
    assert r.status_code == 200, r.text
    r = await world.http.put(
        f"/api/handles/{PREFIX}/batch-42",
        headers=basic,
        json={"values": [{"index": 1, "type": "URL", "data": "https://acme.cn/batch/42"}]},
    )
    assert r.status_code == 201, r.text
    wrong = base64.b64encode(f"300%3A0.NA/{PREFIX}:guess".encode()).decode()
    r = await world.http.put(
        f"/api/handles/{PREFIX}/batch-43",
        headers={"Authorization": f"Basic {wrong}"},
        json={"values": [email]},
    )
    assert r.status_code == 401
    # The platform rewrites its own values of a device's record and keeps the admin's.
    await world.call(
        "PATCH", "/api/v1/tenants/acme/devices/pump-1", world.admin, json={"name": "Renamed"}
    )
    wire = await _udp_values(world, f"{PREFIX}/pump-1")
    assert wire["EMAIL"] == b"ops@acme.cn"
    assert orjson.loads(wire["HELAN_DEVICE"])["name"] == "Renamed"


async def test_reconcile_repairs_what_happened_while_not_watching(
    world: World, tmp_path: Path
) -> None:
    await _create_pump(world)
    await _create_pump(world, id="pump-2", name="Feed pump 2")
    await world.link.stop()
    world.link.close()
    # Changes straight in the database (another process, a crash before the record was written).
    with world.platform.meta.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM devices WHERE id = 'pump-1'"))
        conn.execute(sa.text("UPDATE devices SET name = 'Moved' WHERE id = 'pump-2'"))
        conn.execute(sa.text("UPDATE tenants SET name = 'Renamed Co'"))
    link = IdentLink(world.platform.meta, world.platform.settings)
    world.platform.ident = link
    try:
        assert link.store.get(Handle.parse(f"{PREFIX}/pump-1").key) is None
        values = link.registry.get(Handle.parse(f"{PREFIX}/pump-2"))
        assert values is not None
        described = orjson.loads(next(v.data for v in values if v.type == "HELAN_DEVICE"))
        assert (described["name"], described["tenant"]) == ("Moved", "Renamed Co")
        assert link.failures == 0
    finally:
        link.close()
        world.platform.ident = None


async def test_handle_routes_sit_beside_the_platform_api(world: World) -> None:
    app = create_app(world.platform)
    handle_routes = [r for r in app.routes if isinstance(r, Route) and r.path.startswith("/api/")]
    api_paths = {r.path for r in app.routes if isinstance(r, APIRoute)}
    assert {r.path for r in handle_routes} >= {"/api/handles", "/api/handles/{handle:path}"}
    assert not any(p.startswith(("/api/handles", "/api/bulk", "/api/templates")) for p in api_paths)
    # Handle errors keep the Handle shape; the platform's keep theirs.
    r = await world.http.get("/api/handles/88.118.100/%2e%2e%2fetc")
    assert (r.status_code, r.json()["responseCode"]) == (400, 102)
    r = await world.http.get("/api/v1/tenants")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthenticated"


def test_public_base_url_defaults_to_the_http_address(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, http_host="10.0.0.5", http_port=8080)
    assert settings.public_base_url == "http://10.0.0.5:8080"
    assert Settings(data_dir=tmp_path, public_base_url="https://x.cn/").public_base_url == (
        "https://x.cn"
    )
    with pytest.raises(ValueError, match="ident_port"):
        Settings(data_dir=tmp_path, ident_port=70000)


async def test_ident_port_zero_serves_records_without_listeners(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", ident_port=0)
    platform = Platform.build(settings)
    try:
        assert platform.ident is not None
        await platform.ident.start()
        assert platform.ident.listener is None
        assert platform.ident.node.site is None
    finally:
        await platform.stop()


PRODUCTS = "/api/v1/tenants/acme/products"


async def _product_values(w: World, handle: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The HELAN_PRODUCT description as the wire and REST doors give it, after both agree on
    the URL."""
    wire, rest = await _udp_values(w, handle), await _rest_values(w, handle)
    assert wire["URL"].decode() == rest["URL"]
    return orjson.loads(wire["HELAN_PRODUCT"]), orjson.loads(rest["HELAN_PRODUCT"])


async def test_product_identifier_resolves_and_follows_changes(world: World) -> None:
    await _create_pump(world)
    await world.call(
        "POST", PRODUCTS, world.admin, json={"id": "LOT-7", "name": "Lot 7", "kind": "batch"}
    )
    product = await world.call(
        "POST",
        PRODUCTS,
        world.admin,
        json={
            "id": "SN-0001",
            "name": "Impeller",
            "model": "IMP-45",
            "batch": "LOT-7",
            "made_by": "pump-1",
            "produced_at": "2026-03-01T08:00:00+08:00",
            "attributes": {"customer": "a private name"},
        },
    )
    ident = f"{PREFIX}/SN-0001"
    assert product["identifier"] == ident
    wire = await _udp_values(world, ident)
    assert wire["URL"].decode() == f"{BASE}/api/v1/tenants/acme/products/SN-0001"
    assert (decode_admin(wire["HS_ADMIN"]).handle, set(wire)) == (
        f"0.NA/{PREFIX}",
        {"URL", "HELAN_PRODUCT", "HELAN_TRACE", "HS_ADMIN"},
    )
    trace = orjson.loads(wire["HELAN_TRACE"])
    assert trace["events"] == (
        f"{BASE}/api/v1/tenants/acme/epcis/events?MATCH_anyEPC={PREFIX}%2FSN-0001"
    )
    described = {
        "name": "Impeller",
        "model": "IMP-45",
        "kind": "unit",
        "batch": f"{PREFIX}/LOT-7",
        "made_by": f"{PREFIX}/pump-1",
        "produced_at": "2026-03-01T00:00:00Z",
        "tenant": "acme 有限公司",
    }
    assert await _product_values(world, ident) == (described, described)
    assert "a private name" not in orjson.dumps(await _rest_values(world, ident)).decode()
    # The batch's own record says it is one.
    lot, _ = await _product_values(world, f"{PREFIX}/LOT-7")
    assert (lot["kind"], lot["batch"], lot["made_by"]) == ("batch", None, None)

    # Its own fields, the batch's identifier and the device's identifier are all in the record.
    await world.call("PATCH", f"{PRODUCTS}/SN-0001", world.admin, json={"name": "Impeller B"})
    await world.call(
        "PATCH", f"{PRODUCTS}/LOT-7", world.admin, json={"identifier": f"{PREFIX}.7/LOT-7"}
    )
    await world.call(
        "PATCH", "/api/v1/tenants/acme/devices/pump-1", world.admin, json={"identifier": None}
    )
    await world.call("PATCH", "/api/v1/tenants/acme", world.admin, json={"name": "ACME Pumps"})
    wire_now, rest_now = await _product_values(world, ident)
    changed = described | {
        "name": "Impeller B",
        "batch": f"{PREFIX}.7/LOT-7",
        "made_by": None,
        "tenant": "ACME Pumps",
    }
    assert wire_now == rest_now == changed
    assert (await _resolve(world, f"{PREFIX}/LOT-7")).rc == ResponseCode.HANDLE_NOT_FOUND

    await world.call("DELETE", f"{PRODUCTS}/SN-0001", world.admin)
    assert (await _resolve(world, ident)).rc == ResponseCode.HANDLE_NOT_FOUND
    r = await world.http.get(f"/api/handles/{ident}")
    assert (r.status_code, r.json()["responseCode"]) == (404, 100)


async def test_devices_and_products_never_share_an_identifier(world: World) -> None:
    await _create_pump(world)
    for body in (
        {"id": "pump-1", "name": "P"},
        {"id": "X", "name": "P", "identifier": f"{PREFIX}/PUMP-1"},
    ):
        r = await world.http.post(PRODUCTS, headers=world.admin, json=body)
        assert r.status_code == 409, r.text
        assert "already held by device 'pump-1'" in r.json()["error"]["message"]
    r = await world.http.post(
        f"{PRODUCTS}:bulk", headers=world.admin, json=[{"id": "pump-1", "name": "P"}]
    )
    assert r.status_code == 409, r.text
    # The device's record is untouched.
    assert set(await _udp_values(world, f"{PREFIX}/pump-1")) == {"URL", "HELAN_DEVICE", "HS_ADMIN"}
    await world.call("POST", PRODUCTS, world.admin, json={"id": "SN-1", "name": "S"})
    r = await world.http.post(
        "/api/v1/tenants/acme/devices", headers=world.admin, json={"id": "sn-1", "name": "D"}
    )
    assert r.status_code == 409, r.text
    assert "already held by product 'SN-1'" in r.json()["error"]["message"]
    # Products hold the prefix as devices do.
    await world.call("DELETE", "/api/v1/tenants/acme/devices/pump-1", world.admin)
    r = await world.http.patch(
        "/api/v1/tenants/acme", headers=world.admin, json={"ident_prefix": "88.118.101"}
    )
    assert r.status_code == 409, r.text
    assert "1 product(s) of tenant 'acme'" in r.json()["error"]["message"]
    await world.call("POST", "/api/v1/tenants", world.admin, json=_tenant("cask"))
    await world.call(
        "POST",
        "/api/v1/tenants/cask/products",
        world.admin,
        json={"id": "c1", "name": "C", "identifier": "86.1/c1"},
    )
    r = await world.http.post("/api/v1/tenants", headers=world.admin, json=_tenant("z", "86"))
    assert r.status_code == 409
    assert "86.1/c1" in r.json()["error"]["message"]


async def test_bulk_products_are_published_in_one_write(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[int] = []
    put_many = world.link.store.put_many

    def counting(items: Any) -> int:
        batch = list(items)
        writes.append(len(batch))
        return put_many(batch)

    monkeypatch.setattr(world.link.store, "put_many", counting)
    items = [{"id": f"SN-{i:04}", "name": f"Unit {i}", "batch": "LOT-1"} for i in range(500)]
    items.append({"id": "LOT-1", "name": "Lot 1", "kind": "batch"})
    created = await world.call("POST", f"{PRODUCTS}:bulk", world.admin, json=items)
    assert created["created"] == 501
    # 501 records and 501 index entries, in one call to the store.
    assert writes == [1002]
    for serial in ("SN-0000", "SN-0499"):
        described, _ = await _product_values(world, f"{PREFIX}/{serial}")
        assert (described["batch"], described["kind"]) == (f"{PREFIX}/LOT-1", "unit")
    assert world.link.failures == 0


async def test_reconcile_repairs_products_changed_while_not_watching(world: World) -> None:
    await _create_pump(world)
    for serial in ("SN-1", "SN-2"):
        await world.call(
            "POST", PRODUCTS, world.admin, json={"id": serial, "name": serial, "made_by": "pump-1"}
        )
    await world.link.stop()
    world.link.close()
    with world.platform.meta.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM products WHERE id = 'SN-1'"))
        conn.execute(sa.text("UPDATE products SET name = 'Moved' WHERE id = 'SN-2'"))
        conn.execute(sa.text("UPDATE devices SET identifier = '88.118.100/line/pump-1'"))
        # Behind the rules' back: a product taking the device's identifier is not published.
        conn.execute(
            sa.text(
                "INSERT INTO products (tenant_id, id, name, kind, identifier, attributes,"
                " created_at, updated_at) VALUES ('acme', 'SN-3', 'Sneaky', 'unit',"
                " '88.118.100/line/pump-1', '{}', current_timestamp, current_timestamp)"
            )
        )
    link = IdentLink(world.platform.meta, world.platform.settings)
    world.platform.ident = link
    try:
        assert link.store.get(Handle.parse(f"{PREFIX}/SN-1").key) is None
        values = link.registry.get(Handle.parse(f"{PREFIX}/SN-2"))
        assert values is not None
        described = orjson.loads(next(v.data for v in values if v.type == "HELAN_PRODUCT"))
        assert (described["name"], described["made_by"]) == ("Moved", f"{PREFIX}/line/pump-1")
        held = link.registry.get(Handle.parse(f"{PREFIX}/line/pump-1"))
        assert held is not None
        assert {v.type for v in held} == {"URL", "HELAN_DEVICE", "HS_ADMIN"}
        assert (link.clashes, link.failures) == (1, 0)
        # A restart with nothing changed writes nothing.
        link.close()
        link = IdentLink(world.platform.meta, world.platform.settings)
        world.platform.ident = link
        assert link.registry.get(Handle.parse(f"{PREFIX}/SN-2")) == values
        # A change of the sneaky product alone finds the device's record and leaves it.
        with world.platform.meta.session() as s:
            sneaky = s.get(Product, ("acme", "SN-3"))
            assert sneaky is not None
            sneaky.name = "Still sneaky"
        assert link.clashes == 2
        assert link.registry.get(Handle.parse(f"{PREFIX}/line/pump-1")) == held
    finally:
        link.close()
        world.platform.ident = None


async def test_a_signing_key_signs_every_record_and_publishes_its_public_key(
    tmp_path: Path,
) -> None:
    key = PrivateKey.generate()
    w, platform = await _world(tmp_path / "var", free_port(), sign_key=key.hex())
    try:
        await w.call("POST", "/api/v1/tenants", w.admin, json=_tenant("acme", PREFIX))
        await w.call(
            "POST", "/api/v1/tenants/acme/device-types", w.admin, json={"id": "pump", "name": "P"}
        )
        await _create_pump(w)
        prefix = await _resolve(w, f"0.NA/{PREFIX}")
        assert isinstance(prefix.body, m.ResolutionResponse)
        assert published_key(prefix.body.values) == key.public_key()  # HS_PUBKEY 301
        for handle in (f"{PREFIX}/pump-1", f"0.NA/{PREFIX}"):
            reply = await _resolve(w, handle)
            assert isinstance(reply.body, m.ResolutionResponse)
            assert verify_values(handle, reply.body.values, key.public_key())
            assert not verify_values(handle, reply.body.values, PrivateKey.generate().public_key())
        await w.call(
            "PATCH", "/api/v1/tenants/acme/devices/pump-1", w.admin, json={"name": "Renamed"}
        )
        reply = await _resolve(w, f"{PREFIX}/pump-1")  # rewritten: signed anew
        assert isinstance(reply.body, m.ResolutionResponse)
        assert b"Renamed" in b"".join(reply.body.values)
        assert verify_values(f"{PREFIX}/pump-1", reply.body.values, key.public_key())
    finally:
        await w.http.aclose()
        await platform.stop()


def test_a_malformed_signing_key_stops_the_start(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", ident_sign_key=SecretStr("not hex"))
    with pytest.raises(ValueError, match="HELAN_IDENT_SIGN_KEY: an SM2 private key"):
        Platform.build(settings)
