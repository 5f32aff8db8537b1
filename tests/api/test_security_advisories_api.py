"""Advisories and inventory through the real app: import (201, 409 on changed content, 422,
413), matches per asset, a security_advisory event on the affected device, tenant scoping."""

from __future__ import annotations

from pathlib import Path

import orjson
from meta_world import World

CSAF = Path(__file__).parents[2] / "data" / "csaf"
DOC = (CSAF / "icsa-24-256-13.json").read_bytes()


def test_import_match_and_alert(world: World) -> None:
    api, a = world.api, world.a
    admin = api.as_admin()
    api.ok(
        "PATCH",
        f"/api/v1/tenants/{a.id}/devices/{a.device}",
        a.admin,
        json={"vendor": "SIEMENS", "model": "SCALANCE WAM763-1", "firmware": "V2.3.0"},
    )
    r = api.client.post("/api/v1/security/advisories", content=DOC, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["outcome"] == "new"
    assert r.json()["alerts"] == 1
    again = api.client.post("/api/v1/security/advisories", content=DOC, headers=admin)
    assert again.json()["outcome"] == "unchanged"
    assert again.json()["alerts"] == 0
    changed = orjson.loads(DOC)
    changed["document"]["title"] = "<script>alert(1)</script>"
    r = api.client.post("/api/v1/security/advisories", content=orjson.dumps(changed), headers=admin)
    assert r.status_code == 409, r.text
    # a tenant administrator may not import, and another tenant's readers see nothing of a's
    r = api.client.post("/api/v1/security/advisories", content=DOC, headers=a.admin)
    assert r.status_code in (403, 404)
    assets = api.ok("GET", f"/api/v1/tenants/{a.id}/security/assets", a.viewer)
    mine = next(x for x in assets["items"] if x["device"] == a.device)
    assert mine["vendor_key"] == "siemens"
    assert mine["worst"] == "affected"
    got = api.ok("GET", f"/api/v1/tenants/{a.id}/security/matches", a.viewer)
    assert [(m["advisory"], m["status"], m["cvss"]) for m in got] == [
        ("ICSA-24-256-13", "affected", 9.1)
    ]
    r = api.client.get(f"/api/v1/tenants/{a.id}/security/matches", headers=world.b.viewer)
    assert r.status_code == 404
    events = api.ok(
        "GET",
        f"/api/v1/tenants/{a.id}/devices/{a.device}/events",
        a.viewer,
        params={"event": "security_advisory"},
    )
    assert [e["data"]["advisory"] for e in events["items"]] == ["ICSA-24-256-13"]
    across = api.ok("GET", "/api/v1/security/advisories/ICSA-24-256-13/matches", admin)
    assert {m["tenant"] for m in across} == {a.id}
    listed = api.ok("GET", "/api/v1/security/advisories", a.viewer)
    assert listed[0]["id"] == "ICSA-24-256-13"


def test_bad_documents(world: World) -> None:
    api = world.api
    admin = api.as_admin()
    bad = orjson.loads(DOC)
    bad["vulnerabilities"][0]["product_status"]["known_affected"].append("CSAFPID-9999")
    bad["document"]["tracking"]["id"] = "BAD-1"
    r = api.client.post("/api/v1/security/advisories", content=orjson.dumps(bad), headers=admin)
    assert r.status_code == 422, r.text
    r = api.client.post(
        "/api/v1/security/advisories", content=b"x" * (50 * 1024 * 1024), headers=admin
    )
    assert r.status_code == 413


def test_advisory_imported_by_another_process_is_alerted_by_the_sweep(world: World) -> None:
    """``helan security import`` writes the store only; the platform's sweep raises the
    alert, once, and a later full sweep raises nothing again."""
    from helan.security.advisories import store
    from helan.security.advisories.cli import CLI
    from helan.services.security_assets import advisory_alert_job

    api, a = world.api, world.a
    api.ok(
        "PATCH",
        f"/api/v1/tenants/{a.id}/devices/{a.device}",
        a.admin,
        json={"vendor": "Siemens AG", "model": "SCALANCE WAM763-1", "firmware": "V2.3.0"},
    )
    platform = api.platform
    copy = orjson.loads(DOC)
    copy["document"]["tracking"]["id"] = "ICSA-24-256-99"  # a document of its own
    got = store.import_advisory(platform.meta, CLI, orjson.dumps(copy), source="cli")
    assert got.outcome == "new"
    job = advisory_alert_job(platform.meta, platform.pipeline)
    portal = api.client.portal
    assert portal is not None
    portal.call(job.run)
    portal.call(job.run)  # incremental: nothing new
    events = api.ok(
        "GET",
        f"/api/v1/tenants/{a.id}/devices/{a.device}/events",
        a.viewer,
        params={"event": "security_advisory"},
    )
    swept = [e for e in events["items"] if e["data"]["advisory"] == "ICSA-24-256-99"]
    assert len(swept) == 1
