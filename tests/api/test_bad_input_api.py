"""Malformed input gets a precise 4xx in the one error shape, changes nothing, and never 500s."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from meta_world import World

from helan.api.limits import too_deep

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


def _shape(r: Any, status: int, code: str) -> dict[str, Any]:
    """The one error shape: ``{"error": {"code", "message"[, "details"]}}`` and nothing else."""
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return dict(body["error"])


def test_too_deep_json_is_refused_before_parsing(world: World) -> None:
    """A 10,000-deep array raised RecursionError (500) before anyone was authenticated."""
    client = world.api.client
    deep = b"[" * 10_000 + b"]" * 10_000
    json_type = {"Content-Type": "application/json"}
    r = client.post("/api/v1/auth/token", headers=json_type, content=deep)
    assert "nested deeper than 64" in _shape(r, 422, "too_deep")["message"]
    deep_obj = b'{"a":' * 65 + b"1" + b"}" * 65
    r = client.post(DEVICES, headers={**world.a.admin, **json_type}, content=deep_obj)
    _shape(r, 422, "too_deep")
    r = client.post(  # no content type: FastAPI parses it as JSON all the same
        "/api/v1/auth/token", content=deep, headers={"Content-Type": ""}
    )
    _shape(r, 422, "too_deep")
    # Brackets inside strings are text, not nesting; 64 levels are still the route's to judge.
    text = b'{"username": "' + b"[" * 5_000 + b'", "password": "x"}'
    r = client.post("/api/v1/auth/token", headers=json_type, content=text)
    assert "username" in _shape(r, 422, "invalid")["message"]  # judged by the route
    ok_depth = b'{"id": "d9", "name": "x", "attributes": ' + b"[" * 62 + b"]" * 62 + b"}"
    r = client.post(DEVICES, headers={**world.a.admin, **json_type}, content=ok_depth)
    assert _shape(r, 422, "invalid")["details"][0]["loc"][:2] == ["body", "attributes"]


def test_invalid_utf8_and_unknown_routes_answer_the_error_shape(world: World) -> None:
    client = world.api.client
    r = client.post(
        "/api/v1/auth/token", headers={"Content-Type": "application/json"}, content=b'{"a": "\xff"}'
    )
    assert "not valid UTF-8" in _shape(r, 400, "bad_encoding")["message"]
    _shape(client.get("/api/v1/no-such-thing", headers=world.a.admin), 404, "not_found")
    _shape(client.get("/nowhere"), 404, "not_found")
    r = client.put("/api/v1/auth/token", json={})
    _shape(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "POST"
    r = client.put(DEVICES, headers=world.a.admin, json={})  # GET and POST: both are listed
    _shape(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "GET, POST"


def test_huge_bodies_are_refused_and_error_lists_capped(world: World) -> None:
    """100,000 unknown keys got a 13.9 MB 422 after 2 s: now a short 413 before any parsing;
    under the size limit, a body of many bad fields lists the first 100 and says how many
    there were. (No timing asserted: a loaded CI machine made a 1 s bound flake.)"""
    client = world.api.client
    huge = {f"k{i}": 0 for i in range(100_000)}
    r = client.post(DEVICES, headers=world.a.admin, json={"id": "d9", "name": "x", **huge})
    assert "exceeds the limit of 262144 bytes" in _shape(r, 413, "payload_too_large")["message"]
    assert len(r.content) < 1_000
    many = {f"k{i}": 0 for i in range(5_000)}
    r = client.post(DEVICES, headers=world.a.admin, json={"id": "d9", "name": "x", **many})
    error = _shape(r, 422, "invalid")
    assert len(error["details"]) == 100
    assert "5000 errors, 100 in details" in error["message"]
    assert len(r.content) < 30_000
    assert client.get(f"{DEVICES}/d9", headers=world.a.admin).status_code == 404


def test_bulk_routes_take_10000_objects(world: World) -> None:
    """``...:bulk`` routes take 10,000 objects a request: more than 256 KiB of JSON."""
    items = [{"id": f"P-{i:05}", "name": f"product {i} " + "x" * 40} for i in range(10_001)]
    body = orjson.dumps(items)
    assert len(body) > 262_144
    r = world.api.client.post(
        "/api/v1/tenants/acme/products:bulk",
        headers={**world.a.admin, "Content-Type": "application/json"},
        content=body,
    )
    assert "10000" in _shape(r, 422, "invalid")["message"]  # the route's own limit, not 413


def test_bulk_ingest_keeps_its_larger_limit(world: World) -> None:
    """Bulk ingest is bounded by max_payload_bytes (1 MiB), not the 256 KiB of other routes."""
    t0 = 1_700_000_000_000
    rows = [
        {"device": world.a.device, "ts": t0 + i, "metric": "t", "value": 1.0} for i in range(6_000)
    ]
    body = orjson.dumps(rows)
    assert 262_144 < len(body) < 1_048_576
    r = world.api.client.post(
        "/api/v1/tenants/acme/ingest",
        headers={**world.a.admin, "Content-Type": "application/json"},
        content=body,
    )
    assert r.status_code != 413, r.text
    r = world.api.client.post(
        "/api/v1/tenants/acme/ingest",
        headers={**world.a.admin, "Content-Type": "application/json"},
        content=b"[" + b"0," * 600_000 + b"0]",
    )
    _shape(r, 413, "payload_too_large")


def test_openapi_documents_errors_and_id_patterns(world: World) -> None:
    doc = world.api.client.get("/openapi.json").json()
    assert doc["components"]["schemas"]["Error"]["required"] == ["error"]
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    operations = 0
    for path, item in doc["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for op in item.values():
            operations += 1
            for status in ("400", "401", "403", "404", "409", "413", "422"):
                content = op["responses"][status]["content"]["application/json"]
                assert content["schema"] == {"$ref": "#/components/schemas/Error"}, (path, status)
            for param in op.get("parameters", []):
                if param["in"] == "path" and param["name"] in ("tenant", "device"):
                    assert param["schema"]["pattern"].startswith("^"), (path, param)
    assert operations > 40
    assert "429" in doc["paths"]["/api/v1/auth/token"]["post"]["responses"]  # login lockout


@pytest.mark.parametrize(
    ("body", "deep"),
    [
        (b"[" * 65, True),
        (b"[" * 64 + b"]" * 64, False),
        (b"[]" * 100_000, False),  # many, not deep
        (b'["' + b"[" * 100 + b'"]', False),  # brackets in a string are text
        (b'["\\"' + b"[" * 100 + b'"]', False),  # ... also after an escaped quote
        (b'{"a":' * 65 + b"1" + b"}" * 65, True),
        (b"]" * 100 + b"[" * 10, False),  # malformed: the parser's to report
    ],
)
def test_depth_scan(body: bytes, deep: bool) -> None:
    assert too_deep(body) is deep


def test_depth_scan_of_the_largest_body_is_cheap() -> None:
    """The guard runs before authentication on bodies up to 8 MiB (the bulk routes)."""
    t0 = time.perf_counter()
    assert too_deep(b"[" * (8 << 20))
    assert time.perf_counter() - t0 < 2.0
