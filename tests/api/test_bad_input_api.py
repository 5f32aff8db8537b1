"""Malformed input gets a precise 4xx in the one error shape, changes nothing, and never 500s."""

from __future__ import annotations

import pytest
from meta_world import World

DEVICES = "/api/v1/tenants/acme/devices"


def _error(world: World, method: str, url: str, status: int, **kw: object) -> dict[str, str]:
    r = world.api.client.request(method, url, headers=world.a.admin, **kw)  # type: ignore[arg-type]
    assert r.status_code == status, r.text
    error: dict[str, str] = r.json()["error"]
    assert error["code"]
    assert error["message"]
    return error


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=99999999999999999999", "limit"),
        ("offset=-1", "offset"),
        ("limit=ten", "limit"),
        ("enabled=maybe", "enabled"),
        ("sort=password_hash", "cannot sort by 'password_hash'; allowed: created_at, device_type"),
        ("sort=-name,credential_hash", "cannot sort by 'credential_hash'"),
        ("q=" + "x" * 201, "q"),
    ],
)
def test_bad_listing_parameters(world: World, query: str, fragment: str) -> None:
    error = _error(world, "GET", f"{DEVICES}?{query}", 422)
    assert fragment in error["message"]


def test_sql_like_text_is_just_text(world: World) -> None:
    for q in ("'; DROP TABLE devices; --", "%", "_", "\\", '" OR 1=1 --'):
        r = world.api.client.get(DEVICES, params={"q": q}, headers=world.a.admin)
        assert r.status_code == 200, q
        assert r.json()["total"] == 0, q
    assert world.api.ok("GET", DEVICES, world.a.admin)["total"] >= 1
    error = _error(
        world, "POST", DEVICES, 422, json={"id": "x'; DROP TABLE devices;--", "name": "x"}
    )
    assert "invalid device id" in error["message"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"id": "d1", "name": "n" * 201}, "name"),
        ({"id": "d1", "name": ""}, "name"),
        ({"id": "../etc", "name": "x"}, "invalid device id"),
        ({"id": "a/b", "name": "x"}, "invalid device id"),
        ({"id": "d1", "name": "x", "enabled": "sometimes"}, "enabled"),
        ({"id": "d1", "name": "x", "colour": "red"}, "colour"),
        ({"id": "d1", "name": "x", "identifier": "no-slash"}, "invalid industrial identifier"),
        ({"id": "d1", "name": "x", "device_type": "ghost"}, "unknown device type 'ghost'"),
        ({"id": "d1", "name": "x", "asset": "ghost"}, "unknown asset 'ghost'"),
        ({"id": "d1", "name": "x", "attributes": {f"k{i}": i for i in range(65)}}, "attributes"),
        ({"id": "d1", "name": "x", "attributes": {"nested": {"a": 1}}}, "attributes"),
        ({"id": 12, "name": "x"}, "id"),
        ([], "body"),
    ],
)
def test_bad_device_bodies(world: World, body: object, fragment: str) -> None:
    error = _error(world, "POST", DEVICES, 422, json=body)
    assert fragment in error["message"]
    assert world.api.client.get(f"{DEVICES}/d1", headers=world.a.admin).status_code == 404


def test_malformed_json(world: World) -> None:
    r = world.api.client.post(
        DEVICES,
        headers={**world.a.admin, "Content-Type": "application/json"},
        content=b'{"id": "d1", "name": ',
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid"
    r = world.api.client.post(
        "/api/v1/auth/token", headers={"Content-Type": "application/json"}, content=b"{not json"
    )
    assert r.status_code == 422
    assert "malformed JSON" in r.json()["error"]["message"]
    r = world.api.client.post(
        "/api/v1/auth/token", headers={"Content-Type": "text/plain"}, content=b"hi"
    )
    assert r.status_code == 422


@pytest.mark.parametrize(
    ("model", "fragment"),
    [
        ({"properties": [{"name": "t", "min": 5, "max": 1}]}, "min 5.0 is greater than max 1.0"),
        ({"properties": [{"name": "t"}, {"name": "t"}]}, "duplicate property names: t"),
        ({"properties": [{"name": "on", "type": "bool", "max": 1}]}, "min/max apply only"),
        ({"properties": [{"name": "t", "type": "decimal"}]}, "type"),
        ({"properties": [{"name": "9lives"}]}, "invalid metric name"),
        (
            {"services": [{"name": "go", "inputs": [{"name": "a"}, {"name": "a"}]}]},
            "duplicate input",
        ),
        ({"events": [{"name": "e", "level": "panic"}]}, "level"),
    ],
)
def test_bad_thing_models(world: World, model: dict[str, object], fragment: str) -> None:
    body = {"id": "bad", "name": "Bad"} | model
    error = _error(world, "POST", "/api/v1/tenants/acme/device-types", 422, json=body)
    assert fragment in error["message"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"id": "Upper", "name": "x"}, "invalid tenant id"),
        ({"id": "-x", "name": "x"}, "invalid tenant id"),
        ({"id": "x" * 33, "name": "x"}, "invalid tenant id"),
        ({"id": "t1", "name": "x", "uscc": "91350100M000100Y44"}, "expected '3', got '4'"),
        ({"id": "t1", "name": "x", "uscc": "91350100M000100Y4"}, "must be 18 characters"),
        ({"id": "t1", "name": "x", "uscc": "91350100M0001OOY43"}, "outside GB 32100-2015"),
        ({"id": "t1", "name": "x", "region": "990000"}, "administrative division"),
        ({"id": "t1", "name": "x", "retention_days": 0}, "retention_days"),
        ({"id": "t1", "name": "x", "status": "suspended"}, "status"),
    ],
)
def test_bad_tenants(world: World, body: dict[str, object], fragment: str) -> None:
    r = world.api.client.post("/api/v1/tenants", headers=world.api.as_admin(), json=body)
    assert r.status_code == 422, r.text
    assert fragment in r.json()["error"]["message"]


def test_bad_users_and_keys(world: World) -> None:
    users = "/api/v1/tenants/acme/users"
    assert (
        "password"
        in _error(
            world,
            "POST",
            users,
            422,
            json={"username": "bob", "password": "short", "role": "viewer"},
        )["message"]
    )
    assert (
        "username"
        in _error(
            world,
            "POST",
            users,
            422,
            json={"username": "b b", "password": "p" * 12, "role": "viewer"},
        )["message"]
    )
    assert (
        "email"
        in _error(
            world,
            "POST",
            users,
            422,
            json={
                "username": "bob",
                "password": "p" * 12,
                "role": "viewer",
                "email": "not-an-email",
            },
        )["message"]
    )
    keys = "/api/v1/tenants/acme/api-keys"
    assert "scopes" in _error(world, "POST", keys, 422, json={"name": "k", "scopes": []})["message"]
    assert (
        "scopes"
        in _error(world, "POST", keys, 422, json={"name": "k", "scopes": ["root"]})["message"]
    )
    assert (
        "time zone"
        in _error(
            world,
            "POST",
            keys,
            422,
            json={"name": "k", "scopes": ["admin"], "expires_at": "2099-01-01T00:00:00"},
        )["message"]
    )
