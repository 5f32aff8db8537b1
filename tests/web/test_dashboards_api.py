"""Dashboards through the real app: save with versions, share by link inside the tenant only,
export and import, and strict refusal of bad documents with the problem's position."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "api"))
from meta_world import World, world

from helan.storage.meta.models import AuditEntry

__all__ = ["world"]

BASE = "/api/v1/tenants/acme/dashboards"
SPEC: dict[str, Any] = {
    "columns": 12,
    "widgets": [
        {
            "id": "t1",
            "type": "timeseries",
            "title": "温度 Temperature",
            "x": 0,
            "y": 0,
            "w": 8,
            "h": 4,
            "config": {"series": [{"device": "pump-1", "metric": "temp"}], "range": "24h"},
        },
        {
            "id": "g1",
            "type": "gauge",
            "x": 8,
            "y": 0,
            "w": 4,
            "h": 4,
            "config": {"device": "pump-1", "metric": "temp", "min": 0, "max": 120},
        },
        {"id": "n", "type": "text", "x": 0, "y": 4, "w": 12, "h": 1, "config": {"text": "<b>x"}},
    ],
}


def _create(w: World, **extra: Any) -> dict[str, Any]:
    body = {"title": "泵房 Pump room", "spec": SPEC, **extra}
    r = w.api.client.post(BASE, json=body, headers=w.a.operator)
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_create_save_versions_and_stale_save(world: World) -> None:
    c = world.api.client
    made = _create(world)
    assert made["version"] == 1
    assert made["owner"] == "acme-operator"
    assert made["spec"]["widgets"][0]["config"]["fn"] == "avg"  # defaults filled in
    url = f"{BASE}/{made['id']}"
    spec = copy.deepcopy(SPEC)
    spec["widgets"][2]["config"]["text"] = "changed"
    body = {"title": "Pump room", "spec": spec, "version": 1}
    saved = c.put(url, json=body, headers=world.a.operator)
    assert saved.status_code == 200
    assert saved.json()["version"] == 2
    stale = c.put(url, json=body, headers=world.a.operator)
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "stale_version"
    listed = c.get(BASE, headers=world.a.operator).json()
    assert any(d["id"] == made["id"] and d["widgets"] == 3 for d in listed["items"])
    # The tenant's admin sees it; another operator's or a viewer's list does not have it.
    assert any(d["id"] == made["id"] for d in c.get(BASE, headers=world.a.admin).json()["items"])
    assert all(d["id"] != made["id"] for d in c.get(BASE, headers=world.a.viewer).json()["items"])
    assert c.get(url, headers=world.a.viewer).status_code == 404
    assert c.put(url, json=body | {"version": 2}, headers=world.a.viewer).status_code == 403
    with world.api.platform.meta.session() as s:
        actions = {e.action for e in s.query(AuditEntry).filter(AuditEntry.object_id == made["id"])}
    assert {"dashboard.create", "dashboard.update"} <= actions


def test_share_link_within_tenant_only(world: World) -> None:
    c = world.api.client
    made = _create(world)
    shared = c.post(f"{BASE}/{made['id']}/share", headers=world.a.operator)
    assert shared.status_code == 200, shared.text
    token = shared.json()["token"]
    assert shared.json()["path"].endswith(token)
    view = c.get(f"/api/v1/tenants/acme/dashboard-shares/{token}", headers=world.a.viewer)
    assert view.status_code == 200
    assert view.json()["title"] == "泵房 Pump room"
    # The viewer still may not change it, and another tenant's users cannot use the link.
    assert c.delete(f"{BASE}/{made['id']}", headers=world.a.viewer).status_code == 403
    other = c.get(f"/api/v1/tenants/bolt/dashboard-shares/{token}", headers=world.b.viewer)
    assert other.status_code == 404
    cross = c.get(f"/api/v1/tenants/acme/dashboard-shares/{token}", headers=world.b.viewer)
    assert cross.status_code == 404
    assert c.get(f"/api/v1/tenants/acme/dashboard-shares/{token}").status_code == 401
    # A new share replaces the link; unsharing ends it.
    again = c.post(f"{BASE}/{made['id']}/share", headers=world.a.operator).json()["token"]
    old = c.get(f"/api/v1/tenants/acme/dashboard-shares/{token}", headers=world.a.viewer)
    assert old.status_code == 404
    assert c.delete(f"{BASE}/{made['id']}/share", headers=world.a.operator).status_code == 204
    gone = c.get(f"/api/v1/tenants/acme/dashboard-shares/{again}", headers=world.a.viewer)
    assert gone.status_code == 404


def test_export_import_round_trip(world: World) -> None:
    c = world.api.client
    made = _create(world)
    exported = c.get(f"{BASE}/{made['id']}/export", headers=world.a.operator)
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    doc = exported.json()
    assert doc["format"] == "helan.dashboard/v1"
    assert "owner" not in doc
    dup = c.post(f"{BASE}:import", json=doc, headers=world.a.operator)
    assert dup.status_code == 409  # same id
    copy_ = c.post(f"{BASE}:import?id=copy-1", json=doc, headers=world.a.operator)
    assert copy_.status_code == 201, copy_.text
    assert copy_.json()["spec"] == made["spec"]
    assert copy_.json()["id"] == "copy-1"


def _doc(widgets: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {"format": "helan.dashboard/v1", "title": "t", "spec": {"widgets": widgets, **spec}}


def _widget(**kw: Any) -> dict[str, Any]:
    base = {"id": "w", "type": "text", "x": 0, "y": 0, "w": 4, "h": 2, "config": {"text": "x"}}
    return base | kw


@pytest.mark.parametrize(
    ("document", "loc", "type_"),
    [
        (
            _doc([_widget(), _widget(id="b", type="pie", x=4)]),
            ["spec", "widgets", 1, "type"],
            "unknown_widget_type",
        ),
        (_doc([_widget(x=10, w=4)]), ["spec", "widgets", 0, "w"], "off_grid"),
        (_doc([_widget(x=20, w=4)], columns=24), None, None),
        (_doc([_widget(), _widget(id="b", x=2)]), ["spec", "widgets", 1], "overlap"),
        (_doc([_widget(), _widget(x=4)]), ["spec", "widgets", 1, "id"], "duplicate_id"),
        (_doc([_widget(w=0)]), ["spec", "widgets", 0, "w"], "greater_than_equal"),
        (
            _doc([_widget(type="gauge", config={"device": "p", "metric": "1bad"})]),
            ["spec", "widgets", 0, "config", "metric"],
            "string_pattern_mismatch",
        ),
        (
            _doc([_widget(config={"text": "x", "script": "alert(1)"})]),
            ["spec", "widgets", 0, "config", "script"],
            "extra_forbidden",
        ),
        (
            _doc([_widget(type="value", config={"device": "p", "metric": "m", "decimals": "2"})]),
            ["spec", "widgets", 0, "config", "decimals"],
            "int_type",
        ),
        (_doc([], columns=13), ["spec", "columns"], "literal_error"),
        (_doc([_widget(id=f"w{i}", y=i * 2) for i in range(101)]), ["spec", "widgets"], "too_long"),
        ({**_doc([]), "format": "grafana"}, ["format"], "unknown_format"),
        ({**_doc([]), "owner": "me"}, ["owner"], "extra_forbidden"),
        ([1, 2], None, "invalid_dashboard"),
    ],
)
def test_import_refuses_bad_documents(
    world: World, document: Any, loc: list[Any] | None, type_: str | None
) -> None:
    r = world.api.client.post(f"{BASE}:import", json=document, headers=world.a.operator)
    if type_ is None:
        assert r.status_code == 201, r.text  # a 24-column grid has room at x=20
        return
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_dashboard"
    if loc is not None:
        assert any(d["loc"] == loc and d["type"] == type_ for d in error["details"]), error
        assert "at " in error["message"]


def test_import_refuses_oversized_documents(world: World) -> None:
    c = world.api.client
    huge = _doc([_widget(config={"text": "x" * 10_000})] * 1)
    huge["spec"]["pad"] = "x" * (10 << 20)  # 10 MB: the request guard stops it unread
    r = c.post(
        f"{BASE}:import",
        content=orjson.dumps(huge),
        headers={**world.a.operator, "Content-Type": "application/json"},
    )
    assert r.status_code == 413, r.text
    assert r.json()["error"]["code"] == "payload_too_large"
    # Under the request limit but over the spec's own cap once stored with the service.
    from helan.core.errors import PayloadTooLarge
    from helan.services.dashboard_spec import validate_spec

    with pytest.raises(PayloadTooLarge):
        validate_spec({"widgets": [], "pad": "x" * 300_000})


def test_bad_create_and_unknown_ids(world: World) -> None:
    c = world.api.client
    r = c.post(BASE, json={"title": "", "spec": SPEC}, headers=world.a.operator)
    assert r.status_code == 422
    r = c.post(BASE, json={"title": "x", "spec": {"widgets": "no"}}, headers=world.a.operator)
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["loc"] == ["spec", "widgets"]
    assert c.get(f"{BASE}/nope", headers=world.a.operator).status_code == 404
    assert c.get(BASE.replace("acme", "bolt"), headers=world.b.viewer).json()["items"] == []
    assert c.get(BASE, headers=world.b.viewer).status_code == 404  # another tenant's
    bad = c.get("/api/v1/tenants/acme/dashboard-shares/notatoken", headers=world.a.viewer)
    assert bad.status_code == 404
