"""Cloud vouchers end to end over REST: a scheme as data, an application with invoices from
submission to a computed, audited, paid entitlement; bad input refused with its reason
(overlapping schemes, totals that disagree, invoices claimed twice, ineligible or
blacklisted enterprises); contradicted usage flagged with the evidence; enterprises see
only their own applications; credit records with due process; an expert draw excludes the
conflicted expert."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from meta_world import PASSWORD, Api, bearer, close_platform, make_api

from helan.core.points import POINT_SCHEMA
from helan.services.region_plans import this_year
from helan.storage.meta.models import DeviceEvent
from helan.storage.meta.models_region import RegionCreditRecord

YEAR = this_year()
REGION = "/api/v1/regions/640000"


@dataclass
class Region:
    api: Api
    a_admin: dict[str, str]
    b_admin: dict[str, str]


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Region]:
    """One platform for the module: Ningxia's nx-a and nx-b (pumps), the voucher scheme.
    Each test works on its own enterprise or objects, so the order does not matter."""
    api, platform = make_api(Path(tmp_path_factory.mktemp("region")) / "var")
    with api.client:
        a_admin, b_admin = _setup(api)
        api.ok("POST", f"{REGION}/schemes", api.as_admin(), json=SCHEME)
        yield Region(api, a_admin, b_admin)
    close_platform(platform)


def _setup(api: Api) -> tuple[dict[str, str], dict[str, str]]:
    root = api.as_admin()
    for tenant, region in (("nx-a", "640122"), ("nx-b", "640205")):
        body = {"id": tenant, "name": tenant, "region": region, "industry_code": "34"}
        api.ok("POST", "/api/v1/tenants", root, json=body)
        pump = {"id": "pump", "name": "Pump", "properties": [{"name": "temp"}]}
        api.ok("POST", f"/api/v1/tenants/{tenant}/device-types", root, json=pump)
        for d in ("p1", "p2", "p3"):
            body = {"id": d, "name": d, "device_type": "pump"}
            api.ok("POST", f"/api/v1/tenants/{tenant}/devices", root, json=body)
        body = {"username": f"{tenant}-admin", "password": PASSWORD, "role": "tenant_admin"}
        api.ok("POST", f"/api/v1/tenants/{tenant}/users", root, json=body)
    now = datetime.now(UTC)
    with api.platform.meta.session() as s:
        for tenant in ("nx-a", "nx-b"):
            for d in ("p1", "p2"):
                ts = int((now - timedelta(days=2)).timestamp() * 1000)
                s.add(
                    DeviceEvent(
                        tenant_id=tenant,
                        device_id=d,
                        ts=ts,
                        event="device_online",
                        level="info",
                        data={},
                    )
                )
    # nx-a's p1 reports noisy data; p2 a value that never changes.
    start = int((now - timedelta(hours=2)).timestamp() * 1000)
    rows = {"tenant": [], "device": [], "metric": [], "ts": [], "value": [], "quality": []}
    for i in range(60):
        for device, value in (("p1", 20.0 + (i * 7919 % 13) / 10 + i / 100), ("p2", 5.0)):
            rows["tenant"].append("nx-a")
            rows["device"].append(device)
            rows["metric"].append("temp")
            rows["ts"].append(start + i * 60_000)
            rows["value"].append(value)
            rows["quality"].append(0)
    rows["text"] = [None] * len(rows["ts"])
    api.platform.telemetry.write(pa.table(rows).select(POINT_SCHEMA.names).cast(POINT_SCHEMA))
    return bearer(api.login("nx-a-admin")), bearer(api.login("nx-b-admin"))


SCHEME = {
    "id": "nx-voucher",
    "name": "宁夏云服务券",
    "kind": "voucher",
    "valid_from": f"{YEAR}-01-01",
    "valid_to": f"{YEAR}-12-31",
    "rules": {
        "share": 0.3,
        "annual_cap_fen": 5_000_000,
        "years": 2,
        "eligible_services": ["cloud_hosting", "iiot_platform"],
        "industries": ["C"],
        "min_devices_connected": 1,
    },
}


def _invoice(number: str, total: int, service: str = "iiot_platform", lines=None) -> dict:
    return {
        "number": number,
        "issuer": "Helan Cloud Ltd",
        "issued_on": f"{YEAR}-03-01",
        "service": service,
        "lines": lines or [{"amount_fen": total}],
        "total_fen": total,
    }


def test_voucher_from_submission_to_payment(region: Region) -> None:
    api, a_admin, b_admin = region.api, region.a_admin, region.b_admin
    root = api.as_admin()
    assert api.ok("GET", f"{REGION}/schemes/nx-voucher", root)["rules"]["share"] == 0.3
    overlapping = {**SCHEME, "id": "yc-voucher", "rules": {**SCHEME["rules"], "industries": []}}
    r = api.client.post("/api/v1/regions/640100/schemes", headers=root, json=overlapping)
    assert r.status_code == 409, r.text
    assert "overlaps scheme 'nx-voucher'" in r.text
    assert "iiot_platform" in r.text
    open_to_a = api.ok("GET", "/api/v1/tenants/nx-a/region/schemes", a_admin)
    assert [s["id"] for s in open_to_a] == ["nx-voucher"]

    url = "/api/v1/tenants/nx-a/region/applications"
    disagree = _invoice("F-1", 1000, lines=[{"amount_fen": 600}, {"amount_fen": 300}])
    body = {"scheme": "nx-voucher", "year": YEAR, "invoices": [disagree], "claimed_devices": []}
    r = api.client.post(url, headers=a_admin, json=body)
    assert r.status_code == 422, r.text
    assert "invoices[0].total_fen: 1000 disagrees with its lines, which add up to 900" in r.text

    invoices = [_invoice("F-1", 10_000_000), _invoice("F-2", 200_000, "security_services")]
    body = {"scheme": "nx-voucher", "year": YEAR, "invoices": invoices, "claimed_devices": ["p1"]}
    made = api.ok("POST", url, a_admin, json=body)
    assert made["status"] == "submitted", made["flags"]
    steps = {s["step"]: s["value_fen"] for s in made["entitlement"]["steps"]}
    assert steps == {
        "invoiced": 10_200_000,
        "eligible": 10_000_000,  # security services are not in the scheme
        "share": 3_000_000,
        "annual_cap": 3_000_000,
        "years": 3_000_000,
    }
    assert made["amount_fen"] == 3_000_000
    assert [t["action"] for t in made["trail"]] == ["submitted"]

    again = {**body, "invoices": [_invoice("F-1", 10_000_000)]}
    r = api.client.post(url, headers=a_admin, json=again)
    assert r.status_code == 409, r.text
    assert f"already claimed by application {made['id']}" in r.text

    # Another enterprise's application does not exist for nx-b.
    app_url = f"{url}/{made['id']}"
    assert api.client.get(app_url, headers=b_admin).status_code == 404
    r = api.client.get(f"/api/v1/tenants/nx-b/region/applications/{made['id']}", headers=b_admin)
    assert r.status_code == 404, r.text
    assert api.ok("GET", "/api/v1/tenants/nx-b/region/applications", b_admin) == []

    decided = api.ok(
        "POST", f"{REGION}/applications/{made['id']}/decision", root, json={"decision": "approve"}
    )
    assert (decided["status"], decided["amount_fen"]) == ("approved", 3_000_000)
    pay = f"{REGION}/applications/{made['id']}/payments"
    r = api.client.post(pay, headers=root, json={"amount_fen": 3_000_001, "reference": "x"})
    assert r.status_code == 422, r.text
    api.ok("POST", pay, root, json={"amount_fen": 1_000_000, "reference": "PAY-1"})
    api.ok("POST", pay, root, json={"amount_fen": 2_000_000, "reference": "PAY-2"})
    final = api.ok("GET", app_url, a_admin)
    assert final["status"] == "paid"
    assert [t["action"] for t in final["trail"]] == ["submitted", "approved", "paid", "paid"]
    assert [p["amount_fen"] for p in final["payments"]] == [1_000_000, 2_000_000]

    # The annual cap counts what was granted: a second application gets what is left.
    second = {"scheme": "nx-voucher", "year": YEAR, "invoices": [_invoice("F-3", 9_000_000)]}
    left = api.ok("POST", url, a_admin, json=second)
    assert left["amount_fen"] == 2_000_000  # cap 5,000,000 less 3,000,000 granted
    # Contradicted usage: p2 is constant, p3 never came online, ghost is not registered.
    third = {
        "scheme": "nx-voucher",
        "year": YEAR,
        "invoices": [_invoice("F-4", 100)],
        "claimed_devices": ["p2", "p3", "ghost"],
    }
    flagged = api.ok("POST", url, a_admin, json=third)
    assert flagged["status"] == "flagged"
    checks = {(f["check"], f["device"]) for f in flagged["flags"]}
    assert checks == {("constant", "p2"), ("never_connected", "p3"), ("never_connected", "ghost")}
    constant = next(f for f in flagged["flags"] if f["check"] == "constant")
    assert (constant["evidence"]["points"], constant["evidence"]["value"]) == (60, 5.0)
    r = api.client.post(
        f"{REGION}/applications/{flagged['id']}/decision",
        headers=root,
        json={"decision": "approve"},
    )
    assert r.status_code == 422, r.text
    listed = api.ok("GET", f"{REGION}/applications?status=flagged", root)
    assert [x["id"] for x in listed] == [flagged["id"]]


def test_credit_due_process_and_blacklist(region: Region) -> None:
    api, a_admin, b_admin = region.api, region.b_admin, region.a_admin  # nx-b is on trial
    root = api.as_admin()
    body = {
        "tenant": "nx-b",
        "kind": "falsified_claim",
        "finding": "claimed devices never connected",
        "blacklist": True,
        "respond_days": 10,
    }
    record = api.ok("POST", f"{REGION}/credit", root, json=body)
    rid = record["id"]
    decide = f"{REGION}/credit/{rid}/decision"
    r = api.client.post(decide, headers=root, json={"decision": "upheld", "months": 6})
    assert r.status_code == 409, r.text
    assert "may respond until" in r.text
    mine = f"/api/v1/tenants/nx-b/region/credit/{rid}"
    r = api.client.get(f"/api/v1/tenants/nx-a/region/credit/{rid}", headers=b_admin)
    assert r.status_code == 404, r.text
    api.ok("POST", f"{mine}/response", a_admin, json={"text": "the gateway was being installed"})
    upheld = api.ok("POST", decide, root, json={"decision": "upheld", "months": 6})
    assert (upheld["status"], upheld["blacklisted"]) == ("decided", True)
    apply = {"scheme": "nx-voucher", "year": YEAR, "invoices": [_invoice("B-9", 100)]}
    r = api.client.post("/api/v1/tenants/nx-b/region/applications", headers=a_admin, json=apply)
    assert r.status_code == 403, r.text
    assert "on the blacklist until" in r.text
    assert rid in r.text
    api.ok("POST", f"{mine}/appeal", a_admin, json={"text": "new evidence"})
    closed = api.ok(
        "POST", f"{REGION}/credit/{rid}/appeal-decision", root, json={"decision": "overturned"}
    )
    assert (closed["status"], closed["blacklisted"]) == ("closed", False)
    assert [t["action"] for t in closed["trail"]] == [
        "noticed",
        "responded",
        "decided",
        "appealed",
        "appeal_decided",
    ]
    api.ok("POST", "/api/v1/tenants/nx-b/region/applications", a_admin, json=apply)
    assert api.ok("GET", f"{REGION}/credit?blacklisted=true", root) == []
    # A blacklisting ends when it expires.
    again = api.ok("POST", f"{REGION}/credit", root, json={**body, "respond_days": 1})
    with api.platform.meta.session() as s:
        row = s.get(RegionCreditRecord, again["id"])
        assert row is not None
        row.respond_by = datetime.now(UTC) - timedelta(seconds=1)
    url = f"{REGION}/credit/{again['id']}/decision"
    api.ok("POST", url, root, json={"decision": "upheld", "months": 1})
    listed = api.ok("GET", f"{REGION}/credit?blacklisted=true", root)
    assert [x["id"] for x in listed] == [again["id"]]
    with api.platform.meta.session() as s:
        row = s.get(RegionCreditRecord, again["id"])
        assert row is not None
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    assert api.ok("GET", f"{REGION}/credit?blacklisted=true", root) == []


def test_expert_draw_excludes_conflicts(region: Region) -> None:
    api = region.api
    root = api.as_admin()
    experts = {
        "e-same": "nx-a",  # works for the enterprise under review
        "e-tie": None,  # consulted for it last year
        "e-old": None,  # a tie that ended long ago
        "e-free": None,
        "e-other": "nx-b",
    }
    for expert, employer in experts.items():
        body = {"id": expert, "name": expert, "fields": ["pumps"], "tenant": employer}
        api.ok("POST", f"{REGION}/experts", root, json=body)
    last_year = (datetime.now(UTC) - timedelta(days=300)).date().isoformat()
    long_ago = (datetime.now(UTC) - timedelta(days=4 * 365)).date().isoformat()
    tie = {"tenant": "nx-a", "kind": "consulting", "ended_on": last_year}
    api.ok("POST", f"{REGION}/experts/e-tie/relations", root, json=tie)
    old = {"tenant": "nx-a", "kind": "employment", "ended_on": long_ago}
    api.ok("POST", f"{REGION}/experts/e-old/relations", root, json=old)
    review = {"subject_kind": "application", "subject_id": "x", "tenant": "nx-a", "size": 3}
    drawn = api.ok("POST", f"{REGION}/reviews", root, json={**review, "seed": 7})
    assert sorted(drawn["drawn"]) == ["e-free", "e-old", "e-other"]
    assert {x["expert"]: x["reason"] for x in drawn["excluded"]} == {
        "e-same": "works for nx-a",
        "e-tie": f"consulting relationship with nx-a, ended {last_year}",
    }
    r = api.client.post(f"{REGION}/reviews", headers=root, json={**review, "size": 4})
    assert r.status_code == 422, r.text
    assert "3 eligible" in r.text
    score = f"{REGION}/reviews/{drawn['id']}/scores"
    r = api.client.post(score, headers=root, json={"expert": "e-same", "score": 90})
    assert r.status_code == 422, r.text
    api.ok("POST", score, root, json={"expert": "e-free", "score": 82.5, "comment": "ok"})
    got = api.ok("GET", f"{REGION}/reviews/{drawn['id']}", root)
    assert [(x["expert_id"], x["score"]) for x in got["scores"]] == [("e-free", 82.5)]
    found = api.ok("GET", f"{REGION}/experts?q=e-o&field=pumps", root)
    assert [e["id"] for e in found] == ["e-old", "e-other"]
