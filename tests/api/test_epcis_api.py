"""EPCIS over REST: GS1's examples captured and queried back unchanged, XML, bad input with
paths, the size cap, foreign prefixes, named queries, webhook subscriptions, and a recall
across two enterprises on one platform under a sharing agreement (with what was withheld),
plus the public trace."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from importlib import resources
from typing import Any, ClassVar

import orjson
import pytest
import segno
from meta_world import PASSWORD, Api, bearer, close_platform, make_api

from helan.api.app import body_limit
from helan.services.trace import MAX_CAPTURE_BYTES

LD = {"Content-Type": "application/ld+json"}
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
A_PREFIX, B_PREFIX = "88.118.1", "88.118.2"


def _example(name: str) -> dict[str, Any]:
    path = resources.files("helan.trace.epcis").joinpath(f"gs1/examples/{name}.json")
    loaded: dict[str, Any] = orjson.loads(path.read_bytes())
    return loaded


def _doc(*events: dict[str, Any]) -> bytes:
    return orjson.dumps(
        {
            "@context": CONTEXT,
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2026-01-01T00:00:00Z",
            "epcisBody": {"eventList": list(events)},
        }
    )


def _event(kind: str, n: str, minute: int, **fields: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "eventID": f"urn:uuid:{n}",
        "eventTime": f"2026-03-01T08:{minute:02d}:00+08:00",
        "eventTimeZoneOffset": "+08:00",
        **fields,
    }


class T:
    """A tenant as these tests act in it: admin-scoped API keys (SHA-256 checked, so the
    module needs few argon2 hashes) for admin and operator, a viewer user."""

    def __init__(self, api: Api, tenant: str, prefix: str) -> None:
        root = api.as_admin()
        api.ok("POST", "/api/v1/tenants", root, json={"id": tenant, "name": tenant})
        api.ok("PATCH", f"/api/v1/tenants/{tenant}", root, json={"ident_prefix": prefix})
        key = api.ok(
            "POST",
            f"/api/v1/tenants/{tenant}/api-keys",
            root,
            json={"name": "trace", "scopes": ["admin"]},
        )
        self.id = tenant
        self.admin = self.operator = {"X-API-Key": key["key"]}
        self.viewer = self.admin


class World:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.a = T(api, "acme", A_PREFIX)
        self.b = T(api, "bolt", B_PREFIX)
        body = {"username": "acme-viewer", "password": PASSWORD, "role": "viewer"}
        api.ok("POST", "/api/v1/tenants/acme/users", api.as_admin(), json=body)
        self.a.viewer = bearer(api.login("acme-viewer"))


@pytest.fixture(scope="module")
def prefixed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    api, platform = make_api(tmp_path_factory.mktemp("epcis") / "var")
    with api.client:
        yield World(api)
    close_platform(platform)


def _capture(w: World, tenant: str, headers: dict[str, str], body: bytes, **kw: Any) -> Any:
    return w.api.client.post(
        f"/api/v1/tenants/{tenant}/epcis/capture", content=body, headers={**headers, **LD}, **kw
    )


def _events(w: World, tenant: str, headers: dict[str, str], **params: str) -> Any:
    r = w.api.client.get(f"/api/v1/tenants/{tenant}/epcis/events", params=params, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/ld+json")
    return r


@pytest.mark.parametrize(
    "name",
    [
        "object_event_9.6.1",
        "aggregation_event_9.6.3",
        "transformation_event_9.6.4",
        "association_event_a",
        "sensor_data_example_1",
        "error_declaration_and_corrective_event",
    ],
)
def test_gs1_examples_are_captured_and_queried_back_unchanged(prefixed: World, name: str) -> None:
    w = prefixed
    d = _example(name)
    r = _capture(w, w.a.id, w.a.operator, orjson.dumps(d))
    assert r.status_code == 201, r.text
    for raw in d["epcisBody"]["eventList"]:
        epcs = raw.get("epcList") or raw.get("childEPCs") or raw.get("outputEPCList")
        body = _events(w, w.a.id, w.a.viewer, MATCH_anyEPC=epcs[0], eventType=raw["type"]).json()
        assert body["type"] == "EPCISQueryDocument"
        assert raw in body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        for prefix_map in d["@context"][1:]:
            assert prefix_map.items() <= body["@context"][-1].items()


def test_capture_again_is_a_no_op(prefixed: World) -> None:
    w = prefixed
    body = orjson.dumps(_example("object_event_9.6.1"))
    _capture(w, w.a.id, w.a.operator, body)
    again = _capture(w, w.a.id, w.a.operator, body).json()
    assert again == {"captured": 0, "duplicates": 2, "corrected": 0}


def test_xml_capture_and_xxe_refused(prefixed: World) -> None:
    w = prefixed
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0"
  creationDate="2026-01-01T00:00:00Z"><EPCISBody><EventList><ObjectEvent>
  <eventTime>2026-03-01T09:00:00+08:00</eventTime><eventTimeZoneOffset>+08:00</eventTimeZoneOffset>
  <eventID>urn:uuid:xml-1</eventID>
  <epcList><epc>{A_PREFIX}/xml-item</epc></epcList><action>ADD</action>
  <bizStep>commissioning</bizStep><readPoint><id>urn:epc:id:sgln:0614141.07346.1</id></readPoint>
</ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>""".encode()
    url = f"/api/v1/tenants/{w.a.id}/epcis/capture"
    headers = {**w.a.operator, "Content-Type": "application/xml"}
    r = w.api.client.post(url, content=xml, headers=headers)
    assert r.status_code == 201, r.text
    (e,) = _events(w, w.a.id, w.a.viewer, MATCH_epc=f"{A_PREFIX}/xml-item").json()["epcisBody"][
        "queryResults"
    ]["resultsBody"]["eventList"]
    assert (e["eventID"], e["bizStep"]) == ("urn:uuid:xml-1", "commissioning")
    evil = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><EPCISDocument>&x;</EPCISDocument>'
    r = w.api.client.post(url, content=evil, headers=headers)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "xml_forbidden"


def test_bad_documents_answer_422_with_paths(prefixed: World) -> None:
    w = prefixed
    bad = _event("ObjectEvent", "bad-1", 1, epcList=[f"{A_PREFIX}/x"], action="ADD")
    bad["eventTime"] = "2026-03-01T08:00:00"
    worse = _event("ObjectEvent", "bad-2", 2, epcList=[f"{B_PREFIX}/mine"], action="ADD")
    r = _capture(w, w.a.id, w.a.operator, _doc(bad, worse))
    assert r.status_code == 422
    details = r.json()["error"]["details"]
    locs = {(tuple(d["loc"]), d["type"]) for d in details}
    assert (("body", "epcisBody", "eventList", 0, "eventTime"), "schema.format") in locs
    assert (("body", "epcisBody", "eventList", 1, "epcList", 0), "foreign_prefix") in locs
    assert _capture(w, w.a.id, w.a.operator, b"{not json").status_code == 422
    r = w.api.client.post(
        f"/api/v1/tenants/{w.a.id}/epcis/capture",
        content=b"x",
        headers={**w.a.operator, "Content-Type": "text/csv"},
    )
    assert r.json()["error"]["code"] == "unsupported_media_type"


def test_capture_cap_is_64_mib_and_refused_clearly(prefixed: World) -> None:
    assert body_limit(256 * 1024, "/api/v1/tenants/acme/epcis/capture") == MAX_CAPTURE_BYTES
    w = prefixed
    r = _capture(w, w.a.id, w.a.operator, b" " * (MAX_CAPTURE_BYTES + 1))
    assert r.status_code == 413
    assert "limit" in r.json()["error"]["message"]


def test_viewers_read_but_do_not_capture(prefixed: World) -> None:
    w = prefixed
    r = _capture(w, w.a.id, w.a.viewer, _doc())
    assert r.status_code == 403
    assert _capture(w, w.a.id, w.b.operator, _doc()).status_code == 404


class _Inbox(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []  # what the webhook was sent

    def do_POST(self) -> None:
        size = int(self.headers["Content-Length"])
        self.received.append(json.loads(self.rfile.read(size)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def inbox(prefixed: World) -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Inbox)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings = prefixed.api.platform.settings
    host = f"127.0.0.1:{server.server_port}"
    settings.notify_allowed_hosts.append(host)
    yield f"http://{host}/epcis"
    settings.notify_allowed_hosts.remove(host)
    server.shutdown()
    thread.join()


def test_named_query_and_webhook_subscription(prefixed: World, inbox: str) -> None:
    w = prefixed
    base = f"/api/v1/tenants/{w.a.id}/epcis"
    q = {"params": {"EQ_bizStep": "shipping", "eventType": "ObjectEvent"}}
    w.api.ok("PUT", f"{base}/queries/shipped", w.a.operator, json=q)
    bad = {"params": {"EQ_bizStep": "shiping"}}
    assert (
        w.api.client.put(f"{base}/queries/typo", json=bad, headers=w.a.operator).status_code == 422
    )
    sub = {"id": "ship-hook", "query": "shipped", "dest": inbox}
    w.api.ok("POST", f"{base}/subscriptions", w.a.operator, json=sub)
    _Inbox.received.clear()
    shipped = _event(
        "ObjectEvent", "ship-1", 5, epcList=[f"{A_PREFIX}/s1"], action="OBSERVE", bizStep="shipping"
    )
    other = _event(
        "ObjectEvent",
        "recv-1",
        6,
        epcList=[f"{A_PREFIX}/s1"],
        action="OBSERVE",
        bizStep="receiving",
    )
    assert _capture(w, w.a.id, w.a.operator, _doc(shipped, other)).status_code == 201
    (delivered,) = _Inbox.received
    events = delivered["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert [e["eventID"] for e in events] == ["urn:uuid:ship-1"]
    r = w.api.client.get(f"{base}/queries/shipped/events", headers=w.a.viewer)
    listed = r.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert "urn:uuid:ship-1" in [e.get("eventID") for e in listed]
    (s,) = w.api.ok("GET", f"{base}/subscriptions", w.a.viewer)
    assert (s["delivered"], s["failures"]) == (1, 0)
    r = w.api.client.delete(f"{base}/queries/shipped", headers=w.a.operator)
    assert r.status_code == 409
    w.api.ok("DELETE", f"{base}/subscriptions/ship-hook", w.a.operator)
    w.api.ok("DELETE", f"{base}/queries/shipped", w.a.operator)


def test_recall_across_two_enterprises_with_withheld_fields(prefixed: World) -> None:
    """Acme grows herbs and makes a granule lot from them; Bolt receives the lot and makes
    medicine boxes, ships one. A recall of Acme's herb lot, asked in Bolt, finds Bolt's boxes
    and their holders through Acme's shared transformation; Acme's locations are withheld."""
    w = prefixed
    herb, granules = f"{A_PREFIX}/herb-lot-L", f"{A_PREFIX}/granules-7"
    box1, box2 = f"{B_PREFIX}/box-1", f"{B_PREFIX}/box-2"
    farm = {"id": "urn:epc:id:sgln:6901234.00001.0"}
    acme = _doc(
        _event(
            "TransformationEvent",
            "a-t1",
            10,
            inputQuantityList=[{"epcClass": herb, "quantity": 500, "uom": "KGM"}],
            outputEPCList=[granules],
            bizStep="commissioning",
            bizLocation=farm,
        ),
        _event(
            "ObjectEvent",
            "a-ship",
            11,
            epcList=[granules],
            action="OBSERVE",
            bizStep="shipping",
            bizLocation=farm,
        ),
    )
    assert _capture(w, w.a.id, w.a.operator, acme).status_code == 201
    dest = [{"type": "owning_party", "destination": "urn:epc:id:pgln:6909999.00001"}]
    bolt = _doc(
        _event(
            "ObjectEvent", "b-recv", 20, epcList=[granules], action="OBSERVE", bizStep="receiving"
        ),
        _event(
            "TransformationEvent",
            "b-t1",
            21,
            inputEPCList=[granules],
            outputEPCList=[box1, box2],
            bizStep="commissioning",
        ),
        _event(
            "ObjectEvent",
            "b-ship",
            22,
            epcList=[box1],
            action="OBSERVE",
            bizStep="shipping",
            destinationList=dest,
        ),
    )
    assert _capture(w, w.b.id, w.b.operator, bolt).status_code == 201
    recall_url = f"/api/v1/tenants/{w.b.id}/epcis/recall"
    before = w.api.ok("GET", recall_url, w.b.viewer, params={"lot": herb})
    assert before["finishedGoods"] == []  # no agreement yet: Acme's events stay Acme's
    assert any("no sharing agreement" in x.get("reason", "") for x in before["withheld"])
    agreement = {
        "id": "to-bolt",
        "audience": "tenant",
        "partner_tenant": w.b.id,
        "event_types": ["TransformationEvent"],
        "fields": [],
    }
    w.api.ok("POST", f"/api/v1/tenants/{w.a.id}/epcis/agreements", w.a.admin, json=agreement)
    r = w.api.ok("GET", recall_url, w.b.viewer, params={"lot": herb})
    goods = {g["epc"]: g for g in r["finishedGoods"]}
    assert set(goods) == {box1, box2}
    path = goods[box1]["path"]
    assert [(s["eventID"], s["owner"]) for s in path] == [
        ("urn:uuid:a-t1", f"tenant:{w.a.id}"),
        ("urn:uuid:b-t1", f"tenant:{w.b.id}"),
    ]
    assert goods[box1]["holder"]["destinations"][0]["id"] == dest[0]["destination"]
    withheld = r["withheld"]
    assert {
        "source": f"tenant:{w.a.id}",
        "eventID": "urn:uuid:a-t1",
        "fields": ["bizLocation"],
    } in withheld
    assert any(x.get("eventType") == "ObjectEvent" for x in withheld)  # Acme's shipping
    back = w.api.ok(
        "GET", f"/api/v1/tenants/{w.b.id}/epcis/trace", w.b.viewer, params={"epc": box2}
    )
    assert {n["epc"] for n in back["nodes"]} == {granules, herb}
    # Acme itself sees none of Bolt's events: nothing flows back without an agreement.
    mine = w.api.ok(
        "GET", f"/api/v1/tenants/{w.a.id}/epcis/recall", w.a.viewer, params={"lot": herb}
    )
    assert (
        mine["finishedGoods"] == [{**mine["finishedGoods"][0]}] if mine["finishedGoods"] else True
    )
    assert box1 not in {g["epc"] for g in mine["finishedGoods"]}


def test_public_trace_shows_only_what_is_shared(prefixed: World) -> None:
    w = prefixed
    item = f"{A_PREFIX}/bottle-1"
    d = _doc(
        _event(
            "ObjectEvent",
            "p-1",
            30,
            epcList=[item],
            action="ADD",
            bizStep="commissioning",
            bizLocation={"id": "urn:epc:id:sgln:6901234.00009.0"},
        ),
        _event("ObjectEvent", "p-2", 31, epcList=[item], action="OBSERVE", bizStep="inspecting"),
    )
    assert _capture(w, w.a.id, w.a.operator, d).status_code == 201
    public = {"id": "public", "audience": "public", "event_types": ["ObjectEvent"], "fields": []}
    w.api.ok("POST", f"/api/v1/tenants/{w.a.id}/epcis/agreements", w.a.admin, json=public)
    r = w.api.client.get("/api/v1/trace/public", params={"identifier": item})
    assert r.status_code == 200, r.text
    items = r.json()["events"]["items"]
    assert [i["eventID"] for i in items] == ["urn:uuid:p-1", "urn:uuid:p-2"]
    assert "bizLocation" not in items[0]["event"]
    assert {
        "source": f"tenant:{w.a.id}",
        "eventID": "urn:uuid:p-1",
        "fields": ["bizLocation"],
    } in r.json()["events"]["withheld"]
    assert (
        w.api.client.get("/api/v1/trace/public", params={"identifier": "99.9/none"}).status_code
        == 404
    )


def test_token_share_api(prefixed: World) -> None:
    w = prefixed
    body = {
        "id": "partner-x",
        "audience": "token",
        "event_types": ["TransformationEvent"],
        "fields": ["bizLocation"],
    }
    created = w.api.ok("POST", f"/api/v1/tenants/{w.a.id}/epcis/agreements", w.a.admin, json=body)
    token = created["token"]
    assert token
    listed = w.api.ok("GET", f"/api/v1/tenants/{w.a.id}/epcis/agreements", w.a.viewer)
    assert all(a["token"] is None for a in listed)
    key = f"hdl:{A_PREFIX}/granules-7"
    r = w.api.client.get(
        "/api/v1/trace-share/naming", params={"keys": key}, headers={"X-Helan-Trace-Token": token}
    )
    assert r.status_code == 200, r.text
    (ev,) = r.json()["events"][key]
    assert ev["event"]["bizLocation"]["id"] == "urn:epc:id:sgln:6901234.00001.0"
    r = w.api.client.get(
        "/api/v1/trace-share/naming",
        params={"keys": key},
        headers={"X-Helan-Trace-Token": "wrong-token"},
    )
    assert r.status_code == 404
    assert w.api.client.get("/api/v1/trace-share/naming", params={"keys": key}).status_code == 401


def test_label_pdf_carries_the_public_trace_url(prefixed: World) -> None:
    w = prefixed
    r = w.api.client.get(
        f"/api/v1/tenants/{w.a.id}/epcis/label",
        params={"identifier": f"{A_PREFIX}/bottle-1"},
        headers=w.a.viewer,
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    url = b"http://testserver/api/v1/trace/public?identifier=88.118.1%2Fbottle-1"
    assert url in r.content  # the label's subject: the URL its QR code encodes
    dark = sum(sum(row) for row in segno.make(url.decode(), error="m").matrix)
    assert r.content.count(b" re") >= dark  # one filled square per dark module
