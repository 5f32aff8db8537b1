"""The scheduling app in a real platform: definitions validated when saved (422 with the
field), a configured product quoted with a promised date, orders planned, a breakdown event
replanning around the machine, another tenant's product a 404."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from helan.admin.bootstrap import bootstrap_admin
from helan.api.app import create_app
from helan.apps import CommittedEvents
from helan.config import Settings
from helan.core.events import EventRow
from helan.platform import Platform
from helan.sim.plan import FactoryPlan
from helan.sim.scheduling_demo import ORDERS, provision_scheduling
from helan.storage.meta.models import Device, Tenant

BASE = "/api/v1/apps/scheduling/tenants/{}"
MACHINES = ("cnc-1", "cnc-2", "press-1")


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Platform]]:
    platform = Platform.build(Settings(data_dir=tmp_path / "var", ident_port=0))
    password = bootstrap_admin(platform.meta)
    assert password is not None
    with platform.meta.session() as s:
        s.add(Tenant(id="acme", name="Acme"))
        s.add(Tenant(id="beta", name="Beta"))
        s.flush()
        for m in MACHINES:
            s.add(Device(tenant_id="acme", id=m, name=m, credential_hash="x"))
        s.add(Device(tenant_id="beta", id="lathe", name="Lathe", credential_hash="x"))
    assert platform.apps is not None
    platform.apps.installs.install("acme", "scheduling")
    platform.apps.installs.install("beta", "scheduling")
    await platform.start(mqtt=False)
    transport = httpx.ASGITransport(app=create_app(platform))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.post("/api/v1/auth/token", json={"username": "admin", "password": password})
            c.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
            yield c, platform
    finally:
        await platform.stop()


async def put(c: httpx.AsyncClient, tenant: str, kind: str, body: dict[str, Any]) -> httpx.Response:
    return await c.put(f"{BASE.format(tenant)}/{kind}/{body['id']}", json=body)


async def define(c: httpx.AsyncClient) -> None:
    for item in (
        {"id": "steel", "name": "Steel bar"},
        {"id": "spindle", "name": "Spindle", "bom": [{"item": "steel", "quantity": 2}]},
        {"id": "pump", "name": "Pump", "bom": [{"item": "spindle", "quantity": 1}]},
        {"id": "seal-epdm", "name": "EPDM seal"},
        {"id": "seal-fkm", "name": "FKM seal"},
    ):
        assert (await put(c, "acme", "items", item)).status_code == 200
    assert (
        await put(c, "acme", "groups", {"id": "cnc", "machines": ["cnc-1", "cnc-2"]})
    ).status_code == 200
    routing = {
        "id": "pump-std",
        "item": "pump",
        "steps": [
            {"id": "turn", "group": "cnc", "setup_min": 10, "process_min": 2.5, "transfer_min": 5},
            {"id": "press", "machines": ["press-1"], "process_min": 1},
        ],
    }
    assert (await put(c, "acme", "routings", routing)).status_code == 200
    product = {
        "id": "pump-c",
        "name": "Configurable pump",
        "name_zh": "定制泵",
        "item": "pump",
        "routing": "pump-std",
        "base_price": 100.0,
        "lot_size": 4,
        "options": [
            {
                "id": "seal",
                "name": "Seal",
                "choices": [
                    {"id": "epdm", "name": "EPDM", "bom": [{"item": "seal-epdm", "quantity": 1}]},
                    {
                        "id": "fkm",
                        "name": "FKM",
                        "price": 25,
                        "bom": [{"item": "seal-fkm", "quantity": 1}],
                    },
                ],
            },
            {
                "id": "medium",
                "name": "Medium",
                "choices": [{"id": "water", "name": "Water"}, {"id": "oil", "name": "Oil"}],
            },
        ],
        "rules": [
            {
                "id": "oil-needs-fkm",
                "when": [{"option": "medium", "choice": "oil"}],
                "excludes": [{"option": "seal", "choice": "epdm"}],
                "message": "EPDM swells in oil: choose FKM",
            }
        ],
    }
    r = await put(c, "acme", "products", product)
    assert r.status_code == 200, r.text


async def test_bad_definitions_are_refused_with_the_field(
    client: tuple[httpx.AsyncClient, Platform],
) -> None:
    c, _ = client
    base = BASE.format("acme")
    for bad in ({"time_limit_s": 0}, {"time_limit_s": 864_000}, {"workers": 0}, {"objective": "x"}):
        r = await c.post(f"{base}/plan", json=bad)
        assert r.status_code == 422, bad
    assert (await c.get(f"{base}/plan")).status_code == 404  # nothing planned yet
    await define(c)
    # a cycle: steel now made of pump, which is made of spindle, made of steel
    r = await put(
        c, "acme", "items", {"id": "steel", "name": "S", "bom": [{"item": "pump", "quantity": 1}]}
    )
    assert r.status_code == 422
    err = r.json()["error"]
    assert "cyclic BOM" in err["message"]
    assert "steel -> pump -> spindle -> steel" in err["message"]
    assert err["details"][0]["loc"] == ["body", "bom", 0, "item"]
    # a routing naming a machine that does not exist
    bad = {
        "id": "r2",
        "item": "pump",
        "steps": [{"id": "a", "machines": ["cnc-1", "ghost"], "process_min": 1}],
    }
    r = await put(c, "acme", "routings", bad)
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["loc"] == ["body", "steps", 0, "machines", 1]
    assert "ghost" in r.json()["error"]["message"]
    # beta's machine is not acme's
    r = await put(c, "acme", "groups", {"id": "g", "machines": ["lathe"]})
    assert r.status_code == 422
    # a wrong shape is FastAPI's 422 naming the field
    r = await put(
        c,
        "acme",
        "routings",
        {"id": "r3", "item": "pump", "steps": [{"id": "a", "process_min": -1}]},
    )
    assert r.status_code == 422
    # rules no selection can satisfy
    never = {
        "id": "never",
        "name": "Never",
        "item": "pump",
        "routing": "pump-std",
        "base_price": 1,
        "options": [{"id": "o", "name": "O", "choices": [{"id": "a", "name": "A"}]}],
        "rules": [
            {
                "id": "r",
                "when": [{"option": "o", "choice": "a"}],
                "excludes": [{"option": "o", "choice": "a"}],
            }
        ],
    }
    r = await put(c, "acme", "products", never)
    assert r.status_code == 422
    assert "every combination" in r.json()["error"]["message"]


async def test_quote_order_plan_and_breakdown(client: tuple[httpx.AsyncClient, Platform]) -> None:
    c, platform = client
    await define(c)
    base = BASE.format("acme")
    # an impossible combination is refused with the rule's message
    r = await c.post(
        f"{base}/products/pump-c/quote", json={"selection": {"seal": "epdm", "medium": "oil"}}
    )
    assert r.status_code == 422
    assert "EPDM swells in oil" in r.json()["error"]["message"]
    r = await c.post(f"{base}/products/pump-c/quote", json={"selection": {"seal": "fkm"}})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["loc"] == ["body", "selection", "medium"]

    sel = {"seal": "fkm", "medium": "oil"}
    r = await c.post(f"{base}/products/pump-c/quote", json={"selection": sel, "quantity": 10})
    assert r.status_code == 200, r.text
    q = r.json()
    assert q["unit_price"] == 125.0
    assert q["price"] == 1250.0
    assert q["lots"] == [4, 4, 2]
    assert q["materials"] == {"steel": 20.0, "seal-fkm": 10.0}
    assert q["promised_ms"] is not None

    r = await c.post(
        f"{base}/orders",
        json={"product": "pump-c", "selection": sel, "quantity": 10, "customer": "ACME Water"},
    )
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["status"] in ("planned", "in_production")  # its first lot may start now
    assert len({a["job"] for a in order["operations"]}) == 3  # three lots
    assert order["promised_ms"] >= order["planned_completion_ms"] - 60_000
    plan = (await c.get(f"{base}/plan")).json()
    assert plan["status"] in ("optimal", "feasible")
    assert {a["machine"] for a in plan["assignments"]} >= {"press-1"}
    turns = [a for a in plan["assignments"] if a["op"] == "turn"]
    assert {a["machine"] for a in turns} == {"cnc-1", "cnc-2"}  # lots split over the group

    # the simulator's breakdown event on a CNC moves its work off it
    assert platform.apps is not None
    busy = turns[0]["machine"]
    now = plan["origin_ms"]
    event = EventRow("acme", busy, now, "breakdown", "fault", {"cause": "spindle"})
    other = EventRow("acme", busy, now, "state_changed", "info", {"from": "run", "to": "idle"})
    await platform.apps.on_committed(CommittedEvents([event], historical=True))  # backfill
    await platform.apps.on_committed(CommittedEvents([other]))
    assert (await c.get(f"{base}/plan")).json()["version"] == plan["version"]
    await platform.apps.on_committed(CommittedEvents([event]))
    after = (await c.get(f"{base}/plan")).json()
    assert after["version"] == plan["version"] + 1
    assert after["reason"] == f"breakdown {busy}"
    assert busy in after["down"]
    until = after["down"][busy]
    for a in after["assignments"]:
        if a["machine"] == busy and a["state"] == "planned":
            assert a["start_ms"] >= until or a["end_ms"] <= now

    # a move that overlaps is refused with the reason; the dispatch list reads the plan
    press = sorted(
        (a for a in after["assignments"] if a["op"] == "press"), key=lambda a: a["start"]
    )
    r = await c.post(
        f"{base}/plan/move",
        json={
            "job": press[1]["job"],
            "op": "press",
            "machine": "press-1",
            "start_ms": press[0]["start_ms"],
        },
    )
    assert r.status_code == 200
    assert r.json()["feasible"] is False
    assert any("overlaps" in x for x in r.json()["reasons"])
    r = await c.post(
        f"{base}/plan/move",
        json={
            "job": press[0]["job"],
            "op": "press",
            "machine": "cnc-1",
            "start_ms": press[0]["start_ms"],
        },
    )
    assert r.json()["feasible"] is False
    assert "cannot run" in r.json()["reasons"][0]
    r = await c.get(f"{base}/dispatch/press-1")
    assert r.status_code == 200
    assert [a["job"] for a in r.json()["operations"]] == [a["job"] for a in press]

    # orders are per tenant: beta cannot order acme's product, nor read acme's order
    r = await c.post(f"{BASE.format('beta')}/orders", json={"product": "pump-c", "selection": sel})
    assert r.status_code == 404
    r = await c.get(f"{BASE.format('beta')}/orders/{order['id']}")
    assert r.status_code == 404


async def test_simulator_demo_definitions_and_orders_plan(
    client: tuple[httpx.AsyncClient, Platform],
) -> None:
    c, _ = client
    sims = [
        SimpleNamespace(device_id=m, kind=SimpleNamespace(kind=m.split("-")[0])) for m in MACHINES
    ]
    token = c.headers["Authorization"].removeprefix("Bearer ")
    plan = FactoryPlan(devices=10, tenant="acme")
    placed = await provision_scheduling(c, token, plan, sims)  # type: ignore[arg-type]
    assert placed == len(ORDERS)
    assert await provision_scheduling(c, token, plan, sims) == 0  # type: ignore[arg-type]
    got = (await c.get(f"{BASE.format('acme')}/plan")).json()
    assert got["status"] in ("optimal", "feasible")
    orders = {a["order"] for a in got["assignments"]}
    assert len(orders) == len(ORDERS)
    polish = [a for a in got["assignments"] if a["op"] == "polish"]
    assert polish  # the polished order took the fine routing
    assert {a["machine"] for a in polish} <= {"cnc-1", "cnc-2"}
