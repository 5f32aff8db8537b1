"""Identifier data templates: defined over REST by a prefix admin, enforced on every write."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from helan.ident.codes import ResponseCode
from helan.ident.model import Handle, HandleValue
from helan.ident.registry import Registry
from helan.ident.rest.app import create_app
from helan.ident.store import open_store
from helan.ident.templates import (
    TEMPLATE_TYPE,
    TemplateBook,
    TemplateViolation,
    parse_template,
    violations,
)

PREFIX = "88.118.100"


def _basic(user: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()}


ADMIN = _basic(f"300%3A0.NA/{PREFIX}", "s3cret")
ROBOT = {
    "category": "C3491 industrial robot",
    "description": "工业机器人 product record",
    "closed": True,
    "items": [
        {
            "name": "SERIAL_NO",
            "required": True,
            "min_length": 4,
            "max_length": 20,
            "pattern": "[A-Z0-9-]+",
        },
        {"name": "MANUFACTURE_DATE", "kind": "date", "required": True},
        {"name": "PAYLOAD_KG", "kind": "number"},
        {"name": "AXES", "kind": "integer"},
        {"name": "STATUS", "kind": "enum", "choices": ["active", "retired"]},
        {"name": "URL", "kind": "url", "multiple": True},
    ],
}


def _values(**items: str) -> list[dict[str, object]]:
    out: list[dict[str, object]] = [{"index": 1, "type": TEMPLATE_TYPE, "data": "robot"}]
    for i, (name, data) in enumerate(items.items(), 2):
        out.append({"index": i, "type": name, "data": data})
    return out


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    reg = Registry(open_store(f"lmdb:{tmp_path / 'db'}"), homed=[PREFIX, "88.118.200"])
    reg.bootstrap_prefix(PREFIX, b"s3cret", None)
    reg.bootstrap_prefix("88.118.200", b"other", None)
    return reg


@pytest.fixture
async def api(registry: Registry) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(registry))
    async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
        yield client
    registry.store.close()


async def test_template_crud_needs_a_node_admin(api: httpx.AsyncClient) -> None:
    r = await api.put("/api/templates/robot", json=ROBOT)
    assert (r.status_code, r.json()["responseCode"]) == (401, 402)
    r = await api.put(
        "/api/templates/robot", json=ROBOT, headers=_basic("300:0.NA/88.118.200", "wrong")
    )
    assert (r.status_code, r.json()["responseCode"]) == (401, 403)
    r = await api.put("/api/templates/robot", json=ROBOT, headers=ADMIN)
    assert (r.status_code, r.json()) == (201, {"responseCode": 1, "template": "robot"})
    assert (await api.put("/api/templates/robot", json=ROBOT, headers=ADMIN)).status_code == 200
    got = (await api.get("/api/templates/ROBOT")).json()["template"]
    assert got["name"] == "robot"
    assert got["items"][0]["pattern"] == "[A-Z0-9-]+"
    assert (await api.get("/api/templates")).json()["templates"] == ["robot"]
    r = await api.get("/api/templates/none")
    assert (r.status_code, r.json()["responseCode"]) == (404, 100)
    assert (await api.delete("/api/templates/robot", headers=ADMIN)).status_code == 200
    assert (await api.get("/api/templates/robot")).status_code == 404


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"items": []}, "items"),
        ({"items": [{"name": "A", "pattern": "("}]}, "pattern does not compile"),
        ({"items": [{"name": "A", "kind": "enum"}]}, "needs choices"),
        ({"items": [{"name": "A"}, {"name": "A"}]}, "more than once: A"),
        ({"items": [{"name": "A", "kind": "colour"}]}, "items.0.kind"),
        ({"items": [{"name": "A", "extra": 1}]}, "extra"),
        ([1, 2], "JSON object"),
    ],
)
async def test_malformed_templates_are_refused(
    api: httpx.AsyncClient, body: object, fragment: str
) -> None:
    r = await api.put("/api/templates/bad", json=body, headers=ADMIN)
    assert (r.status_code, r.json()["responseCode"]) == (400, 202)
    assert fragment in r.json()["message"]
    assert (await api.get("/api/templates/bad")).status_code == 404


async def test_registration_is_checked_against_the_named_template(
    api: httpx.AsyncClient,
) -> None:
    assert (await api.put("/api/templates/robot", json=ROBOT, headers=ADMIN)).status_code == 201
    good = _values(SERIAL_NO="RB-0001", MANUFACTURE_DATE="2024-05-01", AXES="6", STATUS="active")
    r = await api.put(f"/api/handles/{PREFIX}/RB-1", json={"values": good}, headers=ADMIN)
    assert r.status_code == 201, r.text
    bad = _values(
        SERIAL_NO="rb 1",
        MANUFACTURE_DATE="2024-13-01",
        PAYLOAD_KG="heavy",
        AXES="6.5",
        STATUS="lost",
        URL="ftp://x",
        COLOUR="red",
    )
    r = await api.put(f"/api/handles/{PREFIX}/RB-2", json={"values": bad}, headers=ADMIN)
    body = r.json()
    assert (r.status_code, body["responseCode"]) == (400, 202)
    assert body["template"] == "robot"
    problems = {v["item"]: v["message"] for v in body["violations"]}
    assert problems == {
        "SERIAL_NO": "value 2: 'rb 1' does not match '[A-Z0-9-]+'",
        "MANUFACTURE_DATE": "value 3: '2024-13-01' is not a date",
        "PAYLOAD_KG": "value 4: 'heavy' is not a number",
        "AXES": "value 5: '6.5' is not an integer",
        "STATUS": "value 6: 'lost' is not one of active, retired",
        "URL": "value 7: 'ftp://x' is not an http(s) URL with a host",
        "COLOUR": "is not an item of this closed template",
    }
    assert "SERIAL_NO: value 2" in body["message"]
    assert (await api.get(f"/api/handles/{PREFIX}/RB-2")).status_code == 404
    missing = _values(SERIAL_NO="RB-0003")
    r = await api.put(f"/api/handles/{PREFIX}/RB-3", json={"values": missing}, headers=ADMIN)
    assert r.json()["violations"] == [
        {"item": "MANUFACTURE_DATE", "message": "required item is missing"}
    ]
    # Adding a value to a templated record checks the merged record; nothing changes on failure.
    r = await api.put(
        f"/api/handles/{PREFIX}/RB-1",
        params={"index": 9},
        json={"values": [{"index": 9, "type": "SERIAL_NO", "data": "RB-0009"}]},
        headers=ADMIN,
    )
    assert r.json()["violations"][0]["message"] == "appears 2 times; at most once allowed"
    assert len((await api.get(f"/api/handles/{PREFIX}/RB-1")).json()["values"]) == 5
    r = await api.put(
        f"/api/handles/{PREFIX}/RB-4",
        json={"values": [{"index": 1, "type": TEMPLATE_TYPE, "data": "nope"}]},
        headers=ADMIN,
    )
    assert (r.status_code, r.json()["responseCode"]) == (400, 202)
    assert "template 'nope' is not defined on this node" in r.json()["message"]


def test_templates_survive_restart_and_check_lengths(tmp_path: Path) -> None:
    store = open_store(f"sqlite:{tmp_path / 'db'}")
    TemplateBook(store).put(
        parse_template(
            "part",
            {
                "items": [
                    {"name": "CODE", "required": True, "min_length": 3, "max_length": 5},
                    {"name": "MADE", "kind": "datetime"},
                    {"name": "OK", "kind": "boolean"},
                ]
            },
        )
    )
    store.close()
    store = open_store(f"sqlite:{tmp_path / 'db'}")
    try:
        book = TemplateBook(store)
        template = book.get("PART")
        assert template is not None
        values = [
            HandleValue(1, TEMPLATE_TYPE, b"part"),
            HandleValue(2, "CODE", b"ab"),
            HandleValue(3, "MADE", b"2024-05-01T10:00:00+08:00"),
            HandleValue(4, "OK", b"yes"),
        ]
        assert violations(template, values) == [
            ("CODE", "value 2: 2 characters; at least 3 required"),
            ("OK", "value 4: 'yes' is not 'true' or 'false'"),
        ]
        with pytest.raises(TemplateViolation) as err:
            book(Handle.parse("88.1/x"), values)
        assert err.value.rc == ResponseCode.INVALID_VALUE
        long = [
            HandleValue(1, TEMPLATE_TYPE, b"part"),
            HandleValue(2, "CODE", "产品编号很长".encode()),
        ]
        assert violations(template, long) == [("CODE", "value 2: 6 characters; at most 5 allowed")]
    finally:
        store.close()
