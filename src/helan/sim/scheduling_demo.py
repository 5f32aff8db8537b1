"""The demo tenant's scheduling: a configurable pump housing made on the simulator's CNCs
and presses, a few orders, and so a plan on the Gantt chart that changes when the simulator
breaks a machine (its ``breakdown`` event reaches the scheduling app through the committed
data). Made through the app's REST routes, as a user would; a second start adds nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import httpx

from helan.sim.plan import FactoryPlan, SimDevice

log = logging.getLogger(__name__)
APP = "/api/v1/apps/scheduling/tenants/{tenant}"
MAX_MACHINES = 6  # per group: a readable chart


def definitions(cncs: Sequence[str], presses: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:
    """(kind, body) in saving order: items, groups, routings, then the product."""
    return [
        ("items", {"id": "bar-steel", "name": "钢棒 Steel bar"}),
        ("items", {"id": "bar-stainless", "name": "不锈钢棒 Stainless bar"}),
        ("items", {"id": "gasket-epdm", "name": "三元乙丙密封 EPDM gasket"}),
        ("items", {"id": "gasket-fkm", "name": "氟橡胶密封 FKM gasket"}),
        ("items", {"id": "housing", "name": "泵壳 Pump housing"}),
        ("groups", {"id": "cnc", "machines": list(cncs)}),
        ("groups", {"id": "press", "machines": list(presses)}),
        (
            "routings",
            {
                "id": "housing-std",
                "item": "housing",
                "steps": [
                    {
                        "id": "stamp",
                        "group": "press",
                        "setup_min": 5,
                        "process_min": 0.5,
                        "transfer_min": 5,
                    },
                    {
                        "id": "mill",
                        "group": "cnc",
                        "setup_min": 15,
                        "process_min": 2.0,
                        "transfer_min": 5,
                    },
                    {"id": "drill", "group": "cnc", "setup_min": 5, "process_min": 1.0},
                ],
            },
        ),
        (
            "routings",
            {
                "id": "housing-fine",
                "item": "housing",
                "steps": [
                    {
                        "id": "stamp",
                        "group": "press",
                        "setup_min": 5,
                        "process_min": 0.5,
                        "transfer_min": 5,
                    },
                    {
                        "id": "mill",
                        "group": "cnc",
                        "setup_min": 20,
                        "process_min": 3.0,
                        "transfer_min": 5,
                    },
                    {"id": "polish", "group": "cnc", "setup_min": 10, "process_min": 1.5},
                ],
            },
        ),
        (
            "products",
            {
                "id": "pump-housing",
                "name": "Configurable pump housing",
                "name_zh": "定制泵壳",
                "item": "housing",
                "routing": "housing-std",
                "base_price": 180.0,
                "lot_size": 20,
                "options": [
                    {
                        "id": "material",
                        "name": "材料 Material",
                        "choices": [
                            {
                                "id": "steel",
                                "name": "碳钢 Steel",
                                "bom": [{"item": "bar-steel", "quantity": 1.2}],
                            },
                            {
                                "id": "stainless",
                                "name": "不锈钢 Stainless",
                                "price": 95,
                                "bom": [{"item": "bar-stainless", "quantity": 1.2}],
                            },
                        ],
                    },
                    {
                        "id": "finish",
                        "name": "表面 Finish",
                        "choices": [
                            {"id": "standard", "name": "标准 Standard"},
                            {
                                "id": "polished",
                                "name": "抛光 Polished",
                                "price": 40,
                                "routing": "housing-fine",
                            },
                        ],
                    },
                    {
                        "id": "gasket",
                        "name": "密封 Gasket",
                        "choices": [
                            {
                                "id": "epdm",
                                "name": "EPDM",
                                "bom": [{"item": "gasket-epdm", "quantity": 2}],
                            },
                            {
                                "id": "fkm",
                                "name": "FKM",
                                "price": 12,
                                "bom": [{"item": "gasket-fkm", "quantity": 2}],
                            },
                        ],
                    },
                ],
                "rules": [
                    {
                        "id": "polish-stainless",
                        "when": [{"option": "finish", "choice": "polished"}],
                        "requires": [{"option": "material", "choice": "stainless"}],
                        "message": "抛光仅限不锈钢 polishing only on stainless",
                    },
                ],
            },
        ),
    ]


ORDERS = [
    {
        "customer": "银川水务 Yinchuan Water",
        "quantity": 60,
        "selection": {"material": "steel", "finish": "standard", "gasket": "epdm"},
    },
    {
        "customer": "宁东化工 Ningdong Chemicals",
        "quantity": 40,
        "selection": {"material": "stainless", "finish": "polished", "gasket": "fkm"},
    },
    {
        "customer": "银川农机 Yinchuan Farm Machinery",
        "quantity": 30,
        "selection": {"material": "steel", "finish": "standard", "gasket": "fkm"},
        "urgent": True,
    },
]


async def provision_scheduling(
    client: httpx.AsyncClient, token: str, plan: FactoryPlan, sims: Sequence[SimDevice]
) -> int:
    """Define the product over the simulator's machines and place the demo orders (once);
    the number of orders placed. The app must be installed for the tenant already."""
    headers = {"Authorization": f"Bearer {token}"}
    base = APP.format(tenant=plan.tenant)
    cncs = sorted(d.device_id for d in sims if d.kind.kind == "cnc")[:MAX_MACHINES]
    presses = sorted(d.device_id for d in sims if d.kind.kind == "press")[:MAX_MACHINES]
    if not cncs or not presses:
        log.info("simulated factory: no CNC or press, no scheduling demo")
        return 0
    for kind, body in definitions(cncs, presses):
        r = await client.put(f"{base}/{kind}/{body['id']}", json=body, headers=headers)
        if r.status_code != 200:
            raise RuntimeError(f"scheduling demo: {kind} {body['id']}: {r.status_code} {r.text}")
    r = await client.get(f"{base}/orders", headers=headers)
    if r.status_code != 200 or r.json():
        return 0  # orders exist (a second start): leave them as the user left them
    placed = 0
    for order in ORDERS:
        r = await client.post(
            f"{base}/orders", json={"product": "pump-housing", **order}, headers=headers
        )
        if r.status_code != 201:
            raise RuntimeError(f"scheduling demo: order: {r.status_code} {r.text}")
        placed += 1
    return placed
