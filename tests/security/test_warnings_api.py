"""The regional security platform through the real app: an officer publishes warnings by
industry and region, the tenants they reach acknowledge and remediate, a region viewer sees
the posture per industry (counts only); roles, reach and malformed input refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.api.meta_world import PASSWORD, Api, bearer, close_platform, make_api

from helan.core.events import EventRow
from helan.storage.meta.events import EventStore

World = tuple[Api, dict[str, dict[str, str]]]


@pytest.fixture(params=["sqlite", "postgresql"])
def both(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """The world on SQLite and on PostgreSQL metadata."""
    url = "" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    yield from _world(tmp_path, url)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from _world(tmp_path, "")


def _world(tmp_path: Path, url: str) -> Iterator[World]:
    api, platform = make_api(tmp_path / "var", url)
    with api.client:
        root = api.as_admin()
        people: dict[str, dict[str, str]] = {"root": root}
        for tenant, industry, region in (
            ("steel-a", "steel", "640104"),
            ("steel-b", "steel", "640205"),
            ("chem", "chemical", "640104"),
            ("bj", "steel", "110101"),
        ):
            body = {"id": tenant, "name": f"{tenant} Co", "industry": industry, "region": region}
            api.ok("POST", "/api/v1/tenants", root, json=body)
            user = {"username": f"{tenant}-admin", "password": PASSWORD, "role": "tenant_admin"}
            api.ok("POST", f"/api/v1/tenants/{tenant}/users", root, json=user)
            people[tenant] = bearer(api.login(f"{tenant}-admin"))
            viewer = {"username": f"{tenant}-viewer", "password": PASSWORD, "role": "viewer"}
            api.ok("POST", f"/api/v1/tenants/{tenant}/users", root, json=viewer)
            people[f"{tenant}-viewer"] = bearer(api.login(f"{tenant}-viewer"))
        for name, extra in (
            ("officer", {"role": "security_officer"}),
            ("nx-reg", {"role": "region_viewer", "region": "640000"}),
        ):
            api.ok(
                "POST",
                "/api/v1/users",
                root,
                json={"username": name, "password": PASSWORD, **extra},
            )
            people[name] = bearer(api.login(name))
        yield api, people
    close_platform(platform)


def _publish(api: Api, who: dict[str, str], **body: object) -> dict[str, object]:
    base = {"kind": "vulnerability", "severity": "critical", "title": "PLC 固件漏洞预警"}
    out: dict[str, object] = api.ok("POST", "/api/v1/security/warnings", who, json=base | body)
    return out


def test_publish_acknowledge_remediate_posture(both: World) -> None:
    api, p = both
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    steel = _publish(
        api,
        p["officer"],
        industries=["steel"],
        regions=["640000"],
        due_at=past,
        references=["CVE-2024-0001"],
    )
    risk = _publish(api, p["officer"], kind="risk", severity="medium", title="风险通报")
    assert steel["published_by"] == "officer"

    # reach: steel tenants of Ningxia get the first; everyone the second
    seen = {
        t: [w["id"] for w in api.ok("GET", f"/api/v1/tenants/{t}/security/warnings", p[t])]
        for t in ("steel-a", "steel-b", "chem", "bj")
    }
    assert seen["steel-a"] == seen["steel-b"] == [risk["id"], steel["id"]]
    assert seen["chem"] == seen["bj"] == [risk["id"]]

    receipt = f"/api/v1/tenants/steel-a/security/warnings/{steel['id']}/receipt"
    ack = api.ok(
        "PUT", receipt, p["steel-a"], json={"status": "acknowledged", "affected_assets": 4}
    )
    assert (ack["status"], ack["affected_assets"], ack["remediated_at"]) == (
        "acknowledged",
        4,
        None,
    )
    # a warning that does not reach the tenant does not exist for it
    r = api.client.put(
        f"/api/v1/tenants/chem/security/warnings/{steel['id']}/receipt",
        headers=p["chem"],
        json={"status": "acknowledged"},
    )
    assert r.status_code == 404

    # a detection alert in steel-b and one in chem (device events of type security_anomaly)
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    EventStore(api.platform.meta).write(
        [
            EventRow("steel-b", "plc-1", now_ms, "security_anomaly", "fault", {"kind": "scan"}),
            EventRow(
                "chem", "plc-9", now_ms, "security_anomaly", "warning", {"kind": "new_service"}
            ),
        ]
    )

    posture = api.ok("GET", "/api/v1/regions/640000/security-posture", p["nx-reg"])
    by = {row["industry"]: row for row in posture["industries"]}
    assert set(by) == {"steel", "chemical"}  # Beijing's steel tenant is not Ningxia's
    assert by["steel"]["tenants"] == 2
    assert by["steel"]["affected_assets"] == {"critical": 4}
    assert by["steel"]["warnings_open"] == 4  # 2 warnings x 2 tenants, none remediated
    assert by["steel"]["criticals_past_due"] == 2
    assert by["steel"]["detections"] == 1
    assert by["chemical"] == {
        "industry": "chemical",
        "tenants": 1,
        "assets": 0,
        "affected_assets": {},
        "warnings_open": 1,
        "criticals_past_due": 0,
        "incidents": 0,
        "detections": 1,
    }
    assert "steel-a" not in str(posture)  # no tenant is named

    api.ok(
        "PUT",
        receipt,
        p["steel-a"],
        json={"status": "remediated", "affected_assets": 4, "note": "固件已升级"},
    )
    posture = api.ok("GET", "/api/v1/regions/640000/security-posture?industry=steel", p["nx-reg"])
    (row,) = posture["industries"]
    assert (row["criticals_past_due"], row["warnings_open"], row["affected_assets"]) == (1, 3, {})

    listed = api.ok("GET", "/api/v1/security/warnings", p["officer"])
    first = next(w for w in listed if w["id"] == steel["id"])
    assert first["reached"] == 2
    assert first["by_status"] == {"remediated": 1}
    assert first["receipts"][0]["note"] == "固件已升级"
    assert next(w for w in listed if w["id"] == risk["id"])["reached"] == 4

    r = api.client.post(f"/api/v1/security/warnings/{steel['id']}:withdraw", headers=p["officer"])
    assert r.status_code == 204
    assert [
        w["id"] for w in api.ok("GET", "/api/v1/tenants/steel-a/security/warnings", p["steel-a"])
    ] == [risk["id"]]


def test_roles(world: World) -> None:
    api, p = world
    body = {"kind": "risk", "severity": "low", "title": "t"}
    for who in ("steel-a", "nx-reg", "steel-a-viewer"):
        r = api.client.post("/api/v1/security/warnings", headers=p[who], json=body)
        assert r.status_code == 403, who
        assert api.client.get("/api/v1/security/warnings", headers=p[who]).status_code == 403
    assert api.client.post("/api/v1/security/warnings", json=body).status_code == 401
    w = _publish(api, p["root"], severity="low")  # a platform administrator may too
    # warnings are for the whole enterprise: its viewers read them
    seen = api.ok("GET", "/api/v1/tenants/steel-a/security/warnings", p["steel-a-viewer"])
    assert [x["id"] for x in seen] == [w["id"]]
    # a tenant's viewer may not answer for it; another tenant's admin does not see it
    url = f"/api/v1/tenants/steel-a/security/warnings/{w['id']}/receipt"
    assert (
        api.client.put(
            url, headers=p["steel-a-viewer"], json={"status": "acknowledged"}
        ).status_code
        == 403
    )
    assert (
        api.client.put(url, headers=p["chem"], json={"status": "acknowledged"}).status_code == 404
    )
    assert (
        api.client.get("/api/v1/tenants/nope/security/warnings", headers=p["officer"]).status_code
        == 404
    )
    # posture: region viewers of their region, platform administrators; nobody else
    assert (
        api.client.get("/api/v1/regions/110000/security-posture", headers=p["nx-reg"]).status_code
        == 404
    )
    assert (
        api.client.get("/api/v1/regions/640000/security-posture", headers=p["steel-a"]).status_code
        == 403
    )
    assert (
        api.client.get("/api/v1/regions/640000/security-posture", headers=p["root"]).status_code
        == 200
    )


BAD_WARNINGS = [
    {"kind": "rumour", "severity": "low", "title": "t"},
    {"kind": "risk", "severity": "urgent", "title": "t"},
    {"kind": "risk", "severity": "low", "title": ""},
    {"kind": "risk", "severity": "low", "title": "x" * 301},
    {"kind": "risk", "severity": "low", "title": "t", "regions": ["64"]},
    {"kind": "risk", "severity": "low", "title": "t", "regions": ["990000"]},
    {"kind": "risk", "severity": "low", "title": "t", "due_at": "2030-01-01T00:00:00"},
    {"kind": "risk", "severity": "low", "title": "t", "industries": [""]},
    {"kind": "risk", "severity": "low", "title": "t", "extra": 1},
]


def test_bad_warning(world: World) -> None:
    api, p = world
    for body in BAD_WARNINGS:
        r = api.client.post("/api/v1/security/warnings", headers=p["officer"], json=body)
        assert r.status_code == 422, (body, r.text)


def test_bad_receipt(world: World) -> None:
    api, p = world
    w = _publish(api, p["officer"])
    url = f"/api/v1/tenants/steel-a/security/warnings/{w['id']}/receipt"
    for body in (
        {"status": "done"},
        {"status": "remediated", "affected_assets": -1},
        {"status": "remediated", "note": "x" * 2001},
    ):
        assert api.client.put(url, headers=p["steel-a"], json=body).status_code == 422
    bad = "/api/v1/tenants/steel-a/security/warnings/not-an-id/receipt"
    assert (
        api.client.put(bad, headers=p["steel-a"], json={"status": "acknowledged"}).status_code
        == 422
    )
