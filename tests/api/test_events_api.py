"""``GET .../devices/{device}/events`` through the real app and auth: paging, filters, sorting,
and each tenant seeing only its own device's events (both tenants have a ``pump-1``)."""

from __future__ import annotations

from typing import Any

import pytest
from meta_world import World

from helan.core.events import EventRow
from helan.storage.meta.events import EventStore

T0 = 1_700_000_000_000
URL = "/api/v1/tenants/acme/devices/pump-1/events"
LEVELS = {"jam": "fault", "door_open": "warning", "cycle": "info"}


@pytest.fixture(scope="module")
def seeded(world: World) -> World:
    """acme/pump-1: 30 events 1 s apart (jam, door_open, cycle in turn); bolt/pump-1: 5."""
    names = list(LEVELS)
    rows = [
        EventRow("acme", "pump-1", T0 + i * 1000, names[i % 3], LEVELS[names[i % 3]], {"i": i})
        for i in range(30)
    ]
    rows += [EventRow("bolt", "pump-1", T0 + i, "jam", "fault", {"bolt": True}) for i in range(5)]
    EventStore(world.api.platform.meta).write(rows)
    return world


def get(world: World, params: dict[str, Any] | None = None, **kw: Any) -> Any:
    headers = kw.pop("headers", world.a.viewer)
    return world.api.client.get(kw.pop("url", URL), params=params, headers=headers)


def test_newest_first_with_paging(seeded: World) -> None:
    r = get(seeded, {"limit": 4, "offset": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["total"], body["limit"], body["offset"]) == (30, 4, 2)
    assert [e["data"]["i"] for e in body["items"]] == [27, 26, 25, 24]
    first = body["items"][0]
    assert first["device"] == "pump-1"
    assert first["ts"] == T0 + 27_000
    assert (first["event"], first["level"]) == ("jam", "fault")
    assert first["received_at"].endswith("Z") or first["received_at"].endswith("+00:00")
    pages = [get(seeded, {"limit": 7, "offset": o}).json()["items"] for o in range(0, 30, 7)]
    assert sorted(e["data"]["i"] for p in pages for e in p) == list(range(30))


def test_time_range_event_and_level_filters(seeded: World) -> None:
    body = get(seeded, {"start": T0 + 3000, "end": T0 + 9000}).json()
    assert [e["data"]["i"] for e in body["items"]] == [8, 7, 6, 5, 4, 3]  # end exclusive
    body = get(seeded, {"event": "door_open", "start": "2023-11-14T22:13:30Z"}).json()
    assert [e["data"]["i"] for e in body["items"]] == [28, 25, 22, 19, 16, 13, 10]
    body = get(seeded, {"level": "fault", "limit": 3}).json()
    assert body["total"] == 10
    assert {e["event"] for e in body["items"]} == {"jam"}
    assert get(seeded, {"event": "nope"}).json()["total"] == 0


def test_sort_allow_list(seeded: World) -> None:
    body = get(seeded, {"sort": "ts", "limit": 2}).json()
    assert [e["data"]["i"] for e in body["items"]] == [0, 1]
    body = get(seeded, {"sort": "event,-ts", "limit": 2}).json()
    assert [(e["event"], e["data"]["i"]) for e in body["items"]] == [("cycle", 29), ("cycle", 26)]
    r = get(seeded, {"sort": "data"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_sort"


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"level": "panic"}, "level"),
        ({"limit": 0}, "limit"),
        ({"start": "yesterday"}, "start"),
        ({"start": T0 + 10, "end": T0}, "after end"),
    ],
)
def test_bad_queries_are_422(seeded: World, params: dict[str, Any], where: str) -> None:
    r = get(seeded, params)
    assert r.status_code == 422, r.text
    assert where in r.json()["error"]["message"]


def test_each_tenant_sees_its_own_device(seeded: World) -> None:
    bolt = get(seeded, url=URL.replace("acme", "bolt"), headers=seeded.b.viewer).json()
    assert bolt["total"] == 5
    assert all(e["data"] == {"bolt": True} for e in bolt["items"])
    assert get(seeded, headers=seeded.b.admin).status_code == 404
    r = get(seeded, url=URL.replace("pump-1", "pump-9"))
    assert r.status_code == 404
    assert r.json()["error"]["message"] == "device 'pump-9' not found"


def test_api_keys_need_the_telemetry_scope(seeded: World) -> None:
    """Events are device data: a ``devices:read`` key may not read them, a telemetry key may."""
    assert get(seeded, headers=seeded.a.keys["devices_read"]).status_code == 403
    r = get(seeded, headers=seeded.a.keys["telemetry_write"])
    assert r.status_code == 200
    assert r.json()["total"] == 30


def test_the_tenant_alarm_list_spans_its_devices_only(seeded: World) -> None:
    store = EventStore(seeded.api.platform.meta)
    store.write([EventRow("acme", "pump-2", T0 + 40_000, "jam", "fault", {"other": 1})])
    tenant_url = "/api/v1/tenants/acme/events"
    body = get(seeded, {"level": "fault", "limit": 3}, url=tenant_url).json()
    assert body["total"] == 11  # pump-1's ten jams and pump-2's one; none of bolt's five
    assert [(e["device"], e["ts"]) for e in body["items"]] == [
        ("pump-2", T0 + 40_000),
        ("pump-1", T0 + 27_000),
        ("pump-1", T0 + 24_000),
    ]
    bolt = get(seeded, url="/api/v1/tenants/bolt/events", headers=seeded.b.viewer).json()
    assert bolt["total"] == 5
    assert {e["data"].get("bolt") for e in bolt["items"]} == {True}
    r = get(seeded, url="/api/v1/tenants/bolt/events")  # acme's viewer asks for bolt's
    assert r.status_code == 404
    assert get(seeded, {"start": T0 + 10, "end": T0}, url=tenant_url).status_code == 422
