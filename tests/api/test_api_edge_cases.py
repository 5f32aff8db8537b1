"""Defects found by attacking the API (issue 15): each answered a 500, lost a value silently or
leaked another tenant's figures. Every case here answers a precise 4xx or the right value."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import orjson
import pytest
from meta_world import PASSWORD, World

from helan.core.events import EventRow
from helan.storage.meta.events import EventStore

ACME = "/api/v1/tenants/acme"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _error(r: Any, status: int) -> str:
    assert r.status_code == status, r.text
    message: str = r.json()["error"]["message"]
    return message


@pytest.fixture(scope="module")
def typed(world: World) -> str:
    """A device whose type has an int, a bool and a float metric, with some points stored."""
    op = world.a.operator
    api = world.api
    api.ok(
        "POST",
        f"{ACME}/device-types",
        op,
        json={
            "id": "press",
            "name": "Press",
            "properties": [
                {"name": "strokes", "type": "int"},
                {"name": "running", "type": "bool"},
                {"name": "force", "type": "float", "unit": "kN"},
            ],
        },
    )
    api.ok(
        "POST",
        f"{ACME}/devices",
        op,
        json={"id": "press-1", "name": "Press 1", "device_type": "press"},
    )
    ts = now_ms() - 60_000
    rows = [
        {"device": "press-1", "metric": "strokes", "ts": ts, "value": 41},
        {"device": "press-1", "metric": "strokes", "ts": ts + 1, "value": 42},
        {"device": "press-1", "metric": "running", "ts": ts, "value": True},
        {"device": "press-1", "metric": "running", "ts": ts + 1, "value": False},
        {"device": "press-1", "metric": "force", "ts": ts, "value": 12.5},
    ]
    r = api.client.post(
        f"{ACME}/ingest",
        content=orjson.dumps(rows),
        headers={**op, "Content-Type": "application/json"},
    )
    assert r.json()["accepted"] == 5, r.text
    return "press-1"


def test_null_password_in_a_user_patch_is_a_422(world: World) -> None:
    admin = world.a.admin
    api = world.api
    api.ok(
        "POST",
        f"{ACME}/users",
        admin,
        json={"username": "nulled", "password": PASSWORD, "role": "viewer"},
    )
    for field in ("password", "role", "disabled"):
        r = api.client.patch(f"{ACME}/users/nulled", headers=admin, json={field: None})
        assert field in _error(r, 422)
    # null still clears what may be empty, and the account still logs in with its password.
    body = api.ok("PATCH", f"{ACME}/users/nulled", admin, json={"display_name": None})
    assert body["display_name"] is None
    api.login("nulled")


def test_a_patch_racing_a_delete_is_a_404_never_a_500(world: World) -> None:
    admin = world.a.admin
    client = world.api.client
    statuses: list[int] = []
    for i in range(15):
        name = f"racer{i}"
        world.api.ok(
            "POST",
            f"{ACME}/users",
            admin,
            json={"username": name, "password": PASSWORD, "role": "viewer"},
        )
        go = threading.Barrier(2)

        def patch(name: str = name, go: threading.Barrier = go) -> None:
            go.wait()
            body = {"display_name": "x"}
            statuses.append(
                client.patch(f"{ACME}/users/{name}", headers=admin, json=body).status_code
            )

        def delete(name: str = name, go: threading.Barrier = go) -> None:
            go.wait()
            statuses.append(client.delete(f"{ACME}/users/{name}", headers=admin).status_code)

        threads = [threading.Thread(target=patch), threading.Thread(target=delete)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert set(statuses) <= {200, 204, 404}, statuses
    assert statuses.count(204) == 15


@pytest.mark.parametrize("offset", ["9223372036854775808", str(2**31 + 1), "-1"])
def test_telemetry_offset_is_capped(world: World, typed: str, offset: str) -> None:
    r = world.api.client.get(
        f"{ACME}/devices/{typed}/telemetry/force?start=0&offset={offset}", headers=world.a.viewer
    )
    assert "offset" in _error(r, 422)


@pytest.mark.parametrize(
    "path",
    [
        "telemetry/temp",
        "telemetry?metrics=temp",
        "telemetry/temp/export",
        "commands",
    ],
)
def test_a_device_that_does_not_exist_is_a_404(world: World, path: str) -> None:
    r = world.api.client.get(f"{ACME}/devices/nope/{path}", headers=world.a.viewer)
    assert "nope" in _error(r, 404)
    # The device that does exist answers, so the 404 is about the device, not the route.
    r = world.api.client.get(f"{ACME}/devices/{world.a.device}/{path}", headers=world.a.viewer)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "bound",
    ["NaN", "Infinity", "-Infinity", "1e400"],
)
def test_non_finite_bounds_and_attributes_are_refused(world: World, bound: str) -> None:
    op = world.a.operator
    body = '{"id": "bad-bounds", "name": "x", "properties": [{"name": "t", "max": ' + bound + "}]}"
    r = world.api.client.post(
        f"{ACME}/device-types", content=body, headers={**op, "Content-Type": "application/json"}
    )
    assert "finite" in _error(r, 422)
    body = '{"id": "bad-attr", "name": "x", "attributes": {"rated": ' + bound + "}}"
    r = world.api.client.post(
        f"{ACME}/devices", content=body, headers={**op, "Content-Type": "application/json"}
    )
    assert r.status_code == 422, r.text
    assert world.api.client.get(f"{ACME}/devices/bad-attr", headers=op).status_code == 404


def test_int_metrics_beyond_float_precision_are_refused(world: World, typed: str) -> None:
    ts = now_ms() - 30_000
    rows = [
        {"device": typed, "metric": "strokes", "ts": ts, "value": 2**70},
        {"device": typed, "metric": "strokes", "ts": ts + 1, "value": 2**53},
    ]
    r = world.api.client.post(
        f"{ACME}/ingest",
        content=json.dumps(rows),  # orjson refuses integers past 64 bits; a client may not
        headers={**world.a.operator, "Content-Type": "application/json"},
    )
    body = r.json()
    assert body["accepted"] == 1, body
    assert body["errors"][0]["reason"] == "out_of_range", body
    live = world.api.ok("GET", f"{ACME}/devices/{typed}/live", world.a.viewer)
    assert live["values"]["strokes"]["value"] == 2**53


def test_bools_and_ints_come_back_typed(world: World, typed: str) -> None:
    get = world.api.client.get
    viewer = world.a.viewer
    running = get(f"{ACME}/devices/{typed}/telemetry/running?start=0", headers=viewer).json()
    assert [p["value"] for p in running["points"]] == [True, False]
    strokes = get(f"{ACME}/devices/{typed}/telemetry/strokes?start=0", headers=viewer).json()
    values = [p["value"] for p in strokes["points"]]
    assert values[:2] == [41, 42]
    assert all(type(v) is int for v in values)
    force = get(f"{ACME}/devices/{typed}/telemetry/force?start=0", headers=viewer).json()
    assert force["points"][0]["value"] == 12.5


def test_csv_export_gives_iso_8601_times_on_request(world: World, typed: str) -> None:
    url = f"{ACME}/devices/{typed}/telemetry/strokes/export?start=0"
    viewer = world.a.viewer
    plain = world.api.client.get(url, headers=viewer).text.splitlines()
    iso = world.api.client.get(url + "&times=iso8601", headers=viewer).text.splitlines()
    assert plain[0] == iso[0]
    ms = int(plain[1].split(",")[0])
    stamp = iso[1].split(",")[0].strip('"')
    assert stamp == time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + (
        f".{ms % 1000:03d}Z"
    )
    r = world.api.client.get(url + "&times=local", headers=viewer)
    assert "times" in _error(r, 422)


def test_tenants_see_their_own_counters_only(world: World, typed: str) -> None:
    mine = world.api.ok("GET", f"{ACME}/ingest/stats", world.a.viewer)
    assert mine["tenant"] == "acme"
    assert mine["accepted"] >= 5
    assert "writer" not in mine
    root = world.api.ok("GET", f"{ACME}/ingest/stats", world.api.as_admin())
    assert root["writer"]["points_written"] >= mine["accepted"]


def test_event_ids_do_not_number_every_tenants_events(world: World) -> None:
    """The id is the event's key in its tenant, not a row number shared by all tenants."""
    t0 = 1_700_000_000_000
    store = EventStore(world.api.platform.meta)
    store.write([EventRow("bolt", "pump-1", t0 + i, "jam", "fault", {}) for i in range(50)])
    store.write([EventRow("acme", "pump-1", t0, "jam", "fault", {"n": 1})])
    events = world.api.ok("GET", f"{ACME}/events?event=jam", world.a.viewer)
    assert [e["id"] for e in events["items"]] == [f"pump-1:jam:{t0}"]


def test_openapi_documents_the_ingest_bodies(world: World) -> None:
    paths = world.api.client.get("/openapi.json").json()["paths"]
    bulk = paths["/api/v1/tenants/{tenant}/ingest"]["post"]
    content = bulk["requestBody"]["content"]
    assert set(content) == {
        "application/json",
        "application/vnd.apache.arrow.stream",
        "text/csv",
    }
    rows, columns = content["application/json"]["schema"]["oneOf"]
    assert rows["items"]["required"] == ["device", "metric", "ts", "value"]
    assert "values" in columns["properties"]
    answer = bulk["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer["required"] == ["accepted", "rejected", "errors"]
    device = paths["/api/v1/devices/me/telemetry"]["post"]["requestBody"]["content"]
    assert "values" in device["application/json"]["schema"]["oneOf"][0]["properties"]
    # The documented example is a body the route accepts.
    example = content["application/json"]["examples"]["columns"]["value"]
    example = {**example, "ts": [now_ms() - 2000, now_ms() - 1000]}
    example["values"] = {"temp": [21.5, 21.6]}
    r = world.api.client.post(
        f"{ACME}/ingest",
        content=orjson.dumps(example),
        headers={**world.a.operator, "Content-Type": "application/json"},
    )
    assert r.json()["accepted"] == 2, r.text
