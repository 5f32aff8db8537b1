"""The simulated factory's alarm rules and notification channels, made through the API as a user
would: a breakdown of any CNC or press raises an alarm (cleared when the machine leaves
``down``), and a pump whose flow, vibration or fluid temperature leaves its normal band raises
one (the bands come from SKAB's anomaly-free recording the pumps replay: 30 s averages of flow
119-127 L/min, vibration 0.20-0.22 g, fluid 26.9-29.5 °C). A second pump rule alarms on the
anomaly app's flag (``anomaly.flag``, a derived metric in the pump's thing model): the eight
signals together off their normal joint band. Alarms are e-mailed and posted to the
simulator's own inbox (:mod:`helan.sim.receivers`).

Existing rules and channels (a second ``make run`` on the same data) are left as the user left
them: the factory only creates what is missing."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from helan.sim.plan import FactoryPlan

MAIL = "sim-mail"
WEBHOOK = "sim-webhook"
NOTIFY = {"raised": [MAIL, WEBHOOK], "cleared": [WEBHOOK]}


def channels(webhook_url: str) -> list[dict[str, Any]]:
    return [
        {
            "id": MAIL,
            "name": "值班邮箱 Shift mailbox",
            "kind": "email",
            "config": {"recipients": ["shift-lead@demo.factory"]},
        },
        {
            "id": WEBHOOK,
            "name": "工单系统 Work-order webhook",
            "kind": "webhook",
            "config": {"url": webhook_url, "secret": secrets.token_urlsafe(24)},
        },
    ]


def _breakdown(rule_id: str, device_type: str, zh: str) -> dict[str, Any]:
    return {
        "id": rule_id,
        "name": f"{zh}故障停机 {device_type} breakdown",
        "target": {"device_type": device_type},
        "condition": {
            "kind": "event",
            "type": "breakdown",
            "clear_type": "state_changed",
            "clear_where": {"from": "down"},
            "hold_s": 3600,
        },
        "severity": "high",
        "message": "故障停机 breakdown",
        "notify": NOTIFY,
    }


def _band(metric: str, fn: str, op: str, value: float) -> dict[str, Any]:
    return {
        "kind": "aggregate",
        "metric": metric,
        "fn": fn,
        "window_s": 30,
        "op": op,
        "value": value,
    }


RULES: list[dict[str, Any]] = [
    _breakdown("cnc-breakdown", "cnc-machine", "数控机床"),
    _breakdown("press-breakdown", "stamping-press", "冲压机"),
    {
        "id": "pump-anomaly",
        "name": "泵异常 Pump anomaly",
        "description": "30 s averages outside the pumps' normal band (SKAB anomaly-free data)",
        "target": {"device_type": "pump-station"},
        "condition": {
            "any": [
                _band("flow_rate", "avg", "<", 115.0),
                _band("vibration_1", "avg", ">", 0.30),
                _band("fluid_temperature", "avg", ">", 31.0),
            ]
        },
        "for_s": 10,
        "clear_for_s": 30,
        "severity": "medium",
        "message": "流量 {flow_rate} L/min, 振动 {vibration_1} g, 介质温度 {fluid_temperature} °C",
        "notify": NOTIFY,
    },
    {
        "id": "pump-anomaly-score",
        "name": "泵多信号异常 Pump anomaly score",
        "description": "The anomaly app's T² of the eight pump signals above its threshold",
        "target": {"device_type": "pump-station"},
        "condition": _band("anomaly.flag", "avg", ">", 0.5),
        "for_s": 10,
        "clear_for_s": 30,
        "severity": "medium",
        "message": "多信号异常 multi-signal anomaly, flag {anomaly.flag}",
        "notify": NOTIFY,
    },
    {
        "id": "energy-enpi-drift",
        "name": "能效偏离基准 EnPI drift",
        "description": "The energy app's EnPI (measured / expected energy against the stated "
        "baseline, ISO 50006) of a meter more than 15 % above 1",
        "target": {"device_type": "power-meter"},
        "condition": {"kind": "threshold", "metric": "energy.enpi_ratio", "op": ">", "value": 1.15},
        "severity": "low",
        "message": "能源绩效参数 EnPI {energy.enpi_ratio}",
        "notify": {"raised": [MAIL]},
    },
]


def security_rule(plan: FactoryPlan) -> dict[str, Any]:
    """Any device of the plant that a newly imported advisory affects (the security centre's
    ``security_advisory`` event) raises an alarm that holds for a week unless acknowledged."""
    return {
        "id": "security-advisory",
        "name": "安全公告 Security advisory",
        "description": "A CSAF advisory names this device's product and firmware as affected",
        "target": {"asset": plan.site},
        "condition": {"kind": "event", "type": "security_advisory", "hold_s": 7 * 86_400},
        "severity": "high",
        "message": "受安全公告影响 affected by a security advisory",
        "notify": {"raised": [MAIL]},
    }


async def provision_alarms(
    client: httpx.AsyncClient, token: str, plan: FactoryPlan, webhook_url: str
) -> int:
    """Make the demo's channels and rules exist; the number created."""
    headers = {"Authorization": f"Bearer {token}"}
    base = f"/api/v1/tenants/{plan.tenant}"
    created = 0
    for path, bodies in (
        ("notification-channels", channels(webhook_url)),
        ("rules", [*RULES, security_rule(plan)]),
    ):
        for body in bodies:
            r = await client.get(f"{base}/{path}/{body['id']}", headers=headers)
            if r.status_code == 200:
                continue
            r = await client.post(f"{base}/{path}", json=body, headers=headers)
            if r.status_code != 201:
                raise RuntimeError(
                    f"simulated factory: {path} {body['id']}: {r.status_code} {r.text}"
                )
            created += 1
    return created
