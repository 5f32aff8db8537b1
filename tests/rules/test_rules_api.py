"""The rules API through the real app (SQLite metadata, DuckDB telemetry): create, read, save
with the version an edit started from, delete, list, versions, validate, backtest, export and
import; roles, tenant isolation (another tenant's rule is 404, its device unknown) and bad
input (422 naming the position, 409, 413)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "api"))
from meta_world import World, world

from helan.core.points import batch_from_columns

__all__ = ["world"]

A = "/api/v1/tenants/acme"
HOT = {"kind": "threshold", "metric": "temp", "op": ">", "value": 80}


def rule(rule_id: str | None = None, condition: Any = HOT, **extra: Any) -> dict[str, Any]:
    data = {"name": "热 hot", "target": {"device_type": "pump"}, "condition": condition, **extra}
    return data if rule_id is None else {"id": rule_id, **data}


@pytest.fixture(scope="module")
def bolt_only(world: World) -> str:
    """A device only bolt has (both tenants have a pump-1)."""
    device = {"id": "bolt-only", "name": "b", "device_type": "pump"}
    world.api.ok("POST", "/api/v1/tenants/bolt/devices", world.b.operator, json=device)
    return "bolt-only"


def error(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()["error"]
    return body


def test_create_read_save_versions_delete(world: World) -> None:
    c, op = world.api.client, world.a.operator
    r = c.post(f"{A}/rules", json=rule("hot"), headers=op)
    assert r.status_code == 201, r.text
    created = r.json()
    assert (created["id"], created["version"], created["enabled"]) == ("hot", 1, True)
    assert created["spec"]["condition"]["kind"] == "threshold"
    assert created["updated_by"] == "acme-operator"
    assert error(c.post(f"{A}/rules", json=rule("hot"), headers=op), 409)["code"] == "conflict"

    got = c.get(f"{A}/rules/hot", headers=world.a.viewer)
    assert got.status_code == 200
    assert got.json()["spec"] == created["spec"]

    saved = c.put(f"{A}/rules/hot", params={"version": 1}, json=rule(for_s=30), headers=op)
    assert (saved.status_code, saved.json()["version"], saved.json()["spec"]["for_s"]) == (
        200,
        2,
        30.0,
    )
    stale = error(c.put(f"{A}/rules/hot", params={"version": 1}, json=rule(), headers=op), 409)
    assert stale["code"] == "stale_version"
    versions = c.get(f"{A}/rules/hot/versions", headers=world.a.viewer).json()
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[0]["saved_by"] == "acme-operator"

    listed = c.get(f"{A}/rules", headers=world.a.viewer).json()
    assert "hot" in [item["id"] for item in listed["items"]]
    assert c.get(f"{A}/rules", params={"enabled": "false"}, headers=op).json()["total"] == 0

    assert c.delete(f"{A}/rules/hot", headers=op).status_code == 204
    assert error(c.get(f"{A}/rules/hot", headers=op), 404)["code"] == "not_found"
    assert error(c.delete(f"{A}/rules/hot", headers=op), 404)["code"] == "not_found"


def test_put_creates_and_refuses_a_bad_id(world: World) -> None:
    c, op = world.api.client, world.a.operator
    r = c.put(f"{A}/rules/made-by-put", json=rule(), headers=op)
    assert (r.status_code, r.json()["version"]) == (200, 1)
    bad = error(c.put(f"{A}/rules/Bad%20Id", json=rule(), headers=op), 422)
    assert bad["details"][0]["loc"] == ["path", "rule_id"]
    missing = error(c.post(f"{A}/rules", json=rule(), headers=op), 422)
    assert missing["details"] == [
        {"loc": ["body", "id"], "message": "field required", "type": "missing"}
    ]
    gone = error(c.put(f"{A}/rules/nope", params={"version": 3}, json=rule(), headers=op), 404)
    assert gone["code"] == "not_found"


@pytest.mark.parametrize(
    ("body", "loc", "message"),
    [
        (
            rule("x", {"all": [HOT, {**HOT, "metric": "humidity"}]}),
            ["condition", "all", 1, "metric"],
            "unknown metric 'humidity' in the thing model",
        ),
        (
            rule("x", {"kind": "expr", "expr": "pump.temp > 1"}),
            ["condition", "expr"],
            "field selection and indexing are not allowed: name the metric itself (column 1)",
        ),
        (
            rule("x", {"kind": "expr", "expr": "temp > 9**9**9"}),
            ["condition", "expr"],
            "syntax error: unexpected '*' (there is no ** operator) (column 10)",
        ),
        (
            rule("x", {"kind": "expr", "expr": "'" + "x" * 1500 + "' == temp"}),
            ["condition", "expr"],
            "string literal longer than 1000 characters (column 1)",
        ),
        (rule("x", {**HOT, "op": "=>"}), ["condition", "op"], "Input should be '>'"),
        (rule("x", {**HOT, "value": "hot"}), ["condition"], "a str takes == or !="),
        (
            rule("x", target={"device": "bolt-only"}),
            ["target", "device"],
            "no device 'bolt-only' in this tenant",
        ),
        (rule("x", target={"device": "ghost"}), ["target", "device"], "no device 'ghost'"),
    ],
    ids=[
        "unknown-metric",
        "attribute",
        "exponent",
        "huge-string",
        "op",
        "type",
        "foreign",
        "ghost",
    ],
)
def test_bad_rules_are_422_at_their_position(
    world: World, bolt_only: str, body: dict[str, Any], loc: list[Any], message: str
) -> None:
    c = world.api.client
    for r in (
        c.post(f"{A}/rules", json=body, headers=world.a.operator),
        c.post(f"{A}/rules:validate", json=body, headers=world.a.operator),
    ):
        problem = error(r, 422)["details"][0]
        assert problem["loc"] == loc
        assert message in problem["message"]
    assert error(c.get(f"{A}/rules/x", headers=world.a.operator), 404)


def test_deep_nesting_is_refused_before_parsing(world: World) -> None:
    deep: dict[str, Any] = HOT
    for _ in range(100):
        deep = {"not": deep}
    r = world.api.client.post(f"{A}/rules", json=rule("deep", deep), headers=world.a.operator)
    assert error(r, 422)["code"] == "too_deep"
    nine: dict[str, Any] = HOT
    for _ in range(8):
        nine = {"not": nine}
    r = world.api.client.post(f"{A}/rules", json=rule("deep", nine), headers=world.a.operator)
    assert error(r, 422)["details"][0] == {
        "loc": ["condition"],
        "message": "condition nests 9 levels deep; at most 8",
        "type": "value_error",
    }


def test_roles_and_tenants(world: World) -> None:
    c = world.api.client
    world.api.ok("POST", f"{A}/rules", world.a.operator, json=rule("mine"))
    assert error(c.post(f"{A}/rules", json=rule("v"), headers=world.a.viewer), 403)
    assert error(c.post(f"{A}/rules:validate", json=rule(), headers=world.a.viewer), 403)
    assert error(c.delete(f"{A}/rules/mine", headers=world.a.viewer), 403)
    # bolt's users see none of acme's rules: 404, as for a tenant that does not exist
    for method, url in (
        ("GET", f"{A}/rules/mine"),
        ("GET", f"{A}/rules"),
        ("GET", f"{A}/rules/mine/versions"),
        ("GET", f"{A}/rules:export"),
        ("DELETE", f"{A}/rules/mine"),
    ):
        assert c.request(method, url, headers=world.b.admin).status_code == 404, (method, url)
    assert c.get("/api/v1/tenants/bolt/rules/mine", headers=world.b.admin).status_code == 404
    assert c.get(f"{A}/rules/mine", headers=world.a.viewer).status_code == 200


def test_validate_lists_the_devices(world: World) -> None:
    r = world.api.client.post(f"{A}/rules:validate", json=rule(), headers=world.a.operator)
    assert r.status_code == 200, r.text
    assert r.json() == {"valid": True, "devices": ["pump-1"], "device_count": 1}
    by_asset = rule(target={"asset": "site1"})
    r = world.api.client.post(f"{A}/rules:validate", json=by_asset, headers=world.a.operator)
    assert r.json()["devices"] == ["pump-1"]


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_export_then_import(world: World, fmt: str) -> None:
    c, op = world.api.client, world.a.operator
    world.api.ok("PUT", f"{A}/rules/exp-{fmt}", op, json=rule(message="温度 {temp}", for_s=10))
    r = c.get(f"{A}/rules:export", params={"format": fmt}, headers=world.a.viewer)
    assert r.status_code == 200
    assert r.headers["content-disposition"] == f'attachment; filename="rules-acme.{fmt}"'
    if fmt == "yaml":
        assert r.headers["content-type"].startswith("application/yaml")
        assert "温度 {temp}" in r.text
        assert "format: helan.rules/v1" in r.text
    else:
        assert r.json()["format"] == "helan.rules/v1"
    before = {i["id"]: i["spec"] for i in c.get(f"{A}/rules", headers=op).json()["items"]}
    imported = c.post(
        f"{A}/rules:import",
        content=r.content,
        headers={**op, "Content-Type": f"application/{fmt}"},
    )
    assert imported.status_code == 200, imported.text
    assert sorted(imported.json()["imported"]) == sorted(before)
    after = {i["id"]: i["spec"] for i in c.get(f"{A}/rules", headers=op).json()["items"]}
    assert after == before
    versions = c.get(f"{A}/rules/exp-{fmt}/versions", headers=op).json()
    assert versions[0]["version"] == versions[1]["version"] + 1


def test_import_all_or_nothing_and_bounded(world: World) -> None:
    c, op = world.api.client, world.a.operator
    doc = {
        "format": "helan.rules/v1",
        "rules": [rule("imp-ok"), rule("imp-bad", {**HOT, "metric": "nope"})],
    }
    r = c.post(f"{A}/rules:import", json=doc, headers=op)
    body = error(r, 422)
    assert body["code"] == "import_invalid"
    assert body["details"][0]["loc"] == ["rules", 1, "condition", "metric"]
    assert c.get(f"{A}/rules/imp-ok", headers=op).status_code == 404

    many = {"format": "helan.rules/v1", "rules": [rule(f"m{i}") for i in range(1001)]}
    assert error(c.post(f"{A}/rules:import", json=many, headers=op), 413)["code"] == (
        "payload_too_large"
    )
    block = (
        "- {id: r%d, name: n, target: {device_type: pump},"
        " condition: {kind: online, state: offline}}\n"
    )
    huge = "format: helan.rules/v1\nrules:\n" + "".join(block % i for i in range(100_000))
    started = time.perf_counter()
    r = c.post(
        f"{A}/rules:import", content=huge, headers={**op, "Content-Type": "application/yaml"}
    )
    assert error(r, 413)
    assert time.perf_counter() - started < 5
    described = block.replace("name: n,", "name: n, description: %s," % ("说明" * 100))
    thousand = "format: helan.rules/v1\nrules:\n" + "".join(described % i for i in range(1000))
    assert len(thousand) > 256 * 1024  # more than the API's default body limit
    r = c.post(
        f"{A}/rules:import", content=thousand, headers={**op, "Content-Type": "application/yaml"}
    )
    assert r.status_code == 200, r.text
    assert len(r.json()["imported"]) == 1000
    assert error(c.post(f"{A}/rules:import", content="rules: [", headers=op), 422)
    alias = "format: helan.rules/v1\nx: &a [1]\nrules: *a"
    assert (
        "aliases" in error(c.post(f"{A}/rules:import", content=alias, headers=op), 422)["message"]
    )
    assert error(c.post(f"{A}/rules:import", content="{", headers=op), 422)


def test_backtest_over_stored_telemetry(world: World) -> None:
    c, op = world.api.client, world.a.operator
    now = int(time.time() * 1000)
    start = now - 3600_000
    values = [95.0 if 10 <= m < 20 else 20.0 for m in range(60)]
    n = len(values)
    world.api.platform.telemetry.write(
        batch_from_columns(
            ["acme"] * n + ["bolt"] * n,
            ["pump-1"] * 2 * n,
            ["temp"] * 2 * n,
            [start + m * 60_000 for m in range(n)] * 2,
            values + [99.0] * n,
        )
    )
    body = {"rule": rule(for_s=60), "start_ms": start, "end_ms": start + 3600_000}
    saved = c.get(f"{A}/rules", headers=op).json()["total"]
    r = c.post(f"{A}/rules:backtest", json=body, headers=op)
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["devices"], out["points"], out["raised"], out["cleared"]) == (1, 60, 1, 1)
    assert [(x["active"], x["ts_ms"]) for x in out["changes"]] == [
        (True, start + 11 * 60_000),
        (False, start + 20 * 60_000),
    ]
    assert out["active_ms"] == {"pump-1": 9 * 60_000}
    assert out["changes"][0]["values"] == {"temp": 95.0}
    last_hours = c.post(f"{A}/rules:backtest", json={"rule": rule(), "hours": 2}, headers=op)
    assert last_hours.json()["raised"] == 1
    assert c.get(f"{A}/rules", headers=op).json()["total"] == saved  # nothing was saved
    too_long = {"rule": rule(), "start_ms": start, "end_ms": start + 8 * 24 * 3600_000}
    assert (
        "at most 7 days"
        in error(c.post(f"{A}/rules:backtest", json=too_long, headers=op), 422)["message"]
    )
    bad = {"rule": rule(condition={**HOT, "metric": "nope"}), "hours": 1}
    assert error(c.post(f"{A}/rules:backtest", json=bad, headers=op), 422)["details"][0]["loc"] == [
        "condition",
        "metric",
    ]
    assert error(
        c.post(f"{A}/rules:backtest", json={"rule": rule(), "hours": 500}, headers=op), 422
    )
    assert error(c.post(f"{A}/rules:backtest", json=body, headers=world.a.viewer), 403)
