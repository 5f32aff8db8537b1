"""The alarms API through the real app (SQLite, and once PostgreSQL): reading with filters,
operator actions and their refusals, roles (a viewer reads, cannot act), tenant isolation
(another tenant's alarm is 404), bad input (422 with the reason) and the report."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "api"))
from meta_world import Api, World, pg_api, provision_tenant, world

from helan.api.routers import alarms as alarms_router
from helan.rules.alarms import AlarmService
from helan.rules.contracts import AlarmPolicy, NoticeKind
from helan.storage.meta.models import AuditEntry

from .conftest import Policies, RecordingSink, change

__all__ = ["pg_api", "world"]

BASE = "/api/v1/tenants/acme"


@dataclass
class Wired:
    api: Api
    service: AlarmService
    sink: RecordingSink


def wire(api: Api) -> Wired:
    """Mount the alarms router (until the app lists it) and an alarm service on the app."""
    app = api.app
    if not any(getattr(r, "path", "").endswith("/alarms:report") for r in app.routes):
        app.include_router(alarms_router.router)
    sink = RecordingSink()
    policies = Policies(
        {
            (t, "hot"): AlarmPolicy(notify={k: ("ch-1",) for k in NoticeKind})
            for t in ("acme", "bolt")
        }
    )
    service = AlarmService(api.platform.meta, sink, policies)
    app.state.alarms = service
    return Wired(api, service, sink)


@pytest.fixture(scope="module")
def wired(world: World) -> Wired:
    return wire(world.api)


def _raise(w: Wired, device: str = "pump-1", tenant: str = "acme", ts: int = 1000) -> str:
    w.service.apply([change(ts, tenant=tenant, device=device)])
    r = w.api.client.get(
        f"/api/v1/tenants/{tenant}/alarms",
        params={"device": device, "open": "true"},
        headers=w.api.as_admin(),
    )
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    return str(item["id"])


def test_read_act_and_history(world: World, wired: Wired) -> None:
    c = world.api.client
    alarm = _raise(wired, device="api-1")
    op, viewer = world.a.operator, world.a.viewer
    got = c.get(f"{BASE}/alarms/{alarm}", headers=viewer)
    assert got.status_code == 200
    body = got.json()
    assert (body["state"], body["count"], body["open"], body["priority"]) == (
        "unack_active",
        1,
        True,
        2,
    )
    r = c.post(f"{BASE}/alarms/{alarm}:comment", json={"text": "on my way"}, headers=op)
    assert r.status_code == 200, r.text
    r = c.post(f"{BASE}/alarms/{alarm}:assign", json={"user": "acme-operator"}, headers=op)
    assert r.json()["assigned_to"] == "acme-operator"
    r = c.post(f"{BASE}/alarms/{alarm}:acknowledge", json={"comment": "seen"}, headers=op)
    assert r.status_code == 200
    assert (r.json()["state"], r.json()["acknowledged_by"]) == ("ack_active", "acme-operator")
    again = c.post(f"{BASE}/alarms/{alarm}:acknowledge", headers=op)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "illegal_transition"
    assert "ack_active" in again.json()["error"]["message"]
    r = c.post(f"{BASE}/alarms/{alarm}:shelve", json={"duration_s": 600, "reason": "x"}, headers=op)
    assert r.json()["state"] == "shelved"
    r = c.post(f"{BASE}/alarms/{alarm}:unshelve", headers=op)
    assert r.json()["state"] == "unack_active"  # the condition is still active
    r = c.post(f"{BASE}/alarms/{alarm}:clear", json={"comment": "done"}, headers=op)
    assert (r.json()["state"], r.json()["open"]) == ("normal", False)
    h = c.get(f"{BASE}/alarms/{alarm}/history", headers=viewer).json()
    assert [e["action"] for e in h["items"]] == [
        "activate",
        "comment",
        "assign",
        "acknowledge",
        "shelve",
        "unshelve",
        "clear",
    ]
    assert h["items"][3]["comment"] == "seen"
    assert h["items"][3]["actor"] == "acme-operator"
    with world.api.platform.meta.session() as s:
        actions = {e.action for e in s.query(AuditEntry).filter(AuditEntry.object_id == alarm)}
    assert {"alarm.acknowledge", "alarm.shelve", "alarm.clear", "alarm.comment"} <= actions


def test_filters_sort_and_paging(world: World, wired: Wired) -> None:
    c = world.api.client
    a1 = _raise(wired, device="flt-1", ts=5000)
    a2 = _raise(wired, device="flt-2", ts=6000)
    c.post(f"{BASE}/alarms/{a2}:acknowledge", headers=world.a.operator)
    listed = c.get(
        f"{BASE}/alarms",
        params=[("state", "unack_active"), ("state", "ack_active"), ("since", "5000")],
        headers=world.a.viewer,
    ).json()
    ids = [i["id"] for i in listed["items"] if i["device"].startswith("flt-")]
    assert ids == [a2, a1]  # newest first
    only_ack = c.get(
        f"{BASE}/alarms", params={"state": "ack_active", "device": "flt-2"}, headers=world.a.viewer
    ).json()
    assert [i["id"] for i in only_ack["items"]] == [a2]
    page = c.get(
        f"{BASE}/alarms",
        params={"sort": "raised_ts", "limit": 1, "since": "5000", "until": "5001"},
        headers=world.a.viewer,
    ).json()
    assert (page["total"], page["items"][0]["id"]) == (1, a1)
    closed = c.get(
        f"{BASE}/alarms", params={"open": "false", "device": "flt-1"}, headers=world.a.viewer
    ).json()
    assert closed["total"] == 0


def test_roles_and_tenant_isolation(world: World, wired: Wired) -> None:
    c = world.api.client
    alarm = _raise(wired, device="iso-1")
    theirs = _raise(wired, device="iso-1", tenant="bolt")
    # A viewer reads but cannot act.
    r = c.post(f"{BASE}/alarms/{alarm}:acknowledge", headers=world.a.viewer)
    assert r.status_code == 403
    r = c.post(f"{BASE}/alarms:acknowledge", json={"ids": [alarm]}, headers=world.a.viewer)
    assert r.status_code == 403
    # Another tenant's alarm does not exist for acme, by id or through acme's URL ...
    for method, url in [
        ("GET", f"{BASE}/alarms/{theirs}"),
        ("GET", f"{BASE}/alarms/{theirs}/history"),
        ("POST", f"{BASE}/alarms/{theirs}:acknowledge"),
    ]:
        r = c.request(method, url, headers=world.a.operator)
        assert r.status_code == 404, (method, url, r.text)
    bulk = c.post(f"{BASE}/alarms:acknowledge", json={"ids": [theirs]}, headers=world.a.operator)
    assert bulk.json() == {
        "acknowledged": [],
        "skipped": [{"id": theirs, "code": "not_found", "message": "alarm not found"}],
    }
    # ... nor acme's tenant for bolt's people.
    assert c.get(f"{BASE}/alarms", headers=world.b.operator).status_code == 404
    assert c.get(f"{BASE}/alarms/{alarm}", headers=world.b.admin).status_code == 404
    assert c.get(f"{BASE}/alarms:report", headers=world.b.viewer).status_code == 404
    listed = c.get("/api/v1/tenants/bolt/alarms", headers=world.b.viewer).json()
    assert all(i["id"] != alarm for i in listed["items"])
    assert c.get(f"{BASE}/alarms").status_code == 401


def test_bulk_acknowledge(world: World, wired: Wired) -> None:
    c = world.api.client
    ids = [_raise(wired, device=f"bulk-{i}") for i in range(3)]
    r = c.post(
        f"{BASE}/alarms:acknowledge",
        json={"ids": ids, "comment": "shift"},
        headers=world.a.operator,
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"acknowledged": ids, "skipped": []}
    r = c.post(f"{BASE}/alarms:acknowledge", json={"ids": ids[:1]}, headers=world.a.operator)
    assert r.json()["skipped"][0]["code"] == "illegal_transition"


def test_out_of_service(world: World, wired: Wired) -> None:
    c = world.api.client
    url = f"{BASE}/alarm-service/hot/pump-1"
    r = c.put(url, json={"in_service": False, "reason": "overhaul"}, headers=world.a.operator)
    assert r.status_code == 200, r.text
    assert r.json()["in_service"] is False
    assert r.json()["changed_by"] == "acme-operator"
    wired.service.apply([change(9_000_000)])
    listed = c.get(
        f"{BASE}/alarms", params={"device": "pump-1", "open": "true"}, headers=world.a.viewer
    ).json()
    assert [i["state"] for i in listed["items"]] == ["out_of_service"]
    r = c.put(url, json={"in_service": True, "reason": "done"}, headers=world.a.operator)
    assert r.json()["alarm"]["state"] == "unack_active"
    assert (
        c.put(url, json={"in_service": False, "reason": "x"}, headers=world.a.viewer).status_code
        == 403
    )
    # bolt's device of the same name is not acme's; an unknown device is 404 too.
    r = c.put(
        f"{BASE}/alarm-service/hot/nope",
        json={"in_service": False, "reason": "x"},
        headers=world.a.operator,
    )
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "fragment"),
    [
        ("GET", "/alarms", {"params": {"state": "burning"}}, "unknown state 'burning'"),
        ("GET", "/alarms", {"params": {"severity": "urgent"}}, "unknown severity"),
        ("GET", "/alarms", {"params": {"sort": "secret"}}, "cannot sort by"),
        ("GET", "/alarms", {"params": {"since": "yesterday"}}, "epoch milliseconds or RFC 3339"),
        ("GET", "/alarms", {"params": {"since": "9000", "until": "10"}}, "before 'until'"),
        (
            "GET",
            "/alarms:report",
            {"params": {"start": "0", "end": str(91 * 86_400_000)}},
            "at most 90 days",
        ),
        ("GET", "/alarms:report", {"params": {"start": "10", "end": "5"}}, "after start"),
        ("GET", "/alarms:report", {"params": {"operators": "0"}}, "operators"),
        ("POST", "/alarms:acknowledge", {"json": {"ids": []}}, "ids"),
        ("POST", "/alarms:acknowledge", {"json": {"ids": [str(i) for i in range(1001)]}}, "ids"),
    ],
)
def test_bad_input_is_422(
    world: World, wired: Wired, method: str, path: str, kwargs: dict[str, Any], fragment: str
) -> None:
    r = world.api.client.request(method, BASE + path, headers=world.a.operator, **kwargs)
    assert r.status_code == 422, r.text
    assert fragment in r.text


@pytest.mark.parametrize(
    ("action", "body", "fragment"),
    [
        ("shelve", {"duration_s": 30 * 86400, "reason": "long"}, "at most 604800"),
        ("shelve", {"until": "2020-01-01T00:00:00Z", "reason": "past"}, "future"),
        ("shelve", {"until": "2030-01-01T00:00:00", "reason": "naive"}, "UTC offset"),
        ("shelve", {"duration_s": 60}, "reason"),
        ("shelve", {"duration_s": 60, "reason": "x", "extra": 1}, "extra"),
        ("clear", {"comment": ""}, "comment"),
        ("clear", {"comment": "   "}, "comment"),
        ("clear", {}, "comment"),
        ("comment", {"text": "x" * 2001}, "text"),
        ("assign", {"user": "bolt-operator"}, "not a user of tenant"),
    ],
)
def test_bad_action_is_422(
    world: World, wired: Wired, action: str, body: dict[str, Any], fragment: str
) -> None:
    alarm = _raise(wired, device="bad-1")
    r = world.api.client.post(
        f"{BASE}/alarms/{alarm}:{action}", json=body, headers=world.a.operator
    )
    assert r.status_code == 422, r.text
    assert fragment in r.text
    got = world.api.client.get(f"{BASE}/alarms/{alarm}", headers=world.a.viewer).json()
    assert got["state"] == "unack_active"


def test_report_endpoint(world: World, wired: Wired) -> None:
    t0 = 1_800_000_000_000
    wired.service.apply([change(t0 + i * 1000, device=f"rep-{i}") for i in range(12)])
    r = world.api.client.get(
        f"{BASE}/alarms:report",
        params={"start": str(t0), "end": str(t0 + 3_600_000), "operators": "1"},
        headers=world.a.viewer,
    )
    assert r.status_code == 200, r.text
    rep = r.json()
    assert (rep["alarms"], rep["periods"]) == (12, 6)
    assert rep["per_operator_per_10min"] == {"average": 2.0, "peak": 12.0}
    assert rep["flood"]["periods_in_flood"] == 1
    assert rep["by_severity"]["high"] == 12


def test_unwired_service_is_503(
    world: World, wired: Wired, monkeypatch: pytest.MonkeyPatch
) -> None:
    alarm = _raise(wired, device="unwired-1")
    monkeypatch.setattr(world.api.app.state, "alarms", None)
    monkeypatch.setattr(world.api.platform, "alarms", None, raising=False)
    r = world.api.client.post(
        f"{BASE}/alarms/{alarm}:clear", json={"comment": "x"}, headers=world.a.operator
    )
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "alarms_unavailable"
    # Reading needs no service: the tables are enough.
    assert world.api.client.get(f"{BASE}/alarms/{alarm}", headers=world.a.viewer).status_code == 200


@pytest.fixture
def pg_wired(pg_api: Api) -> Wired:
    return wire(pg_api)


def test_api_on_postgresql(pg_wired: Wired) -> None:
    api = pg_wired.api
    t = provision_tenant(api, "acme")
    alarm = _raise(pg_wired)
    c = api.client
    r = c.post(f"{BASE}/alarms/{alarm}:acknowledge", headers=t.operator)
    assert r.json()["state"] == "ack_active"
    pg_wired.service.apply([change(2000, False)])
    got = c.get(f"{BASE}/alarms/{alarm}", headers=t.viewer).json()
    assert (got["state"], got["open"]) == ("normal", False)
    listed = c.get(
        f"{BASE}/alarms", params=[("state", "normal"), ("open", "false")], headers=t.viewer
    ).json()
    assert [i["id"] for i in listed["items"]] == [alarm]
    h = c.get(f"{BASE}/alarms/{alarm}/history", headers=t.viewer).json()
    assert [e["action"] for e in h["items"]] == ["activate", "acknowledge", "return"]
    rep = c.get(
        f"{BASE}/alarms:report", params={"start": "0", "end": "3600000"}, headers=t.viewer
    ).json()
    assert rep["alarms"] == 1
    assert pg_wired.sink.kinds() == ["raised", "acknowledged", "cleared"]
