"""Remote commands end to end: REST API → platform command service → the machine's Mosquitto →
``helan edge`` gateway → simulated Modbus PLC register → reply → API answer; plus every refusal,
the audit trail, and the gateway's health reaching the platform's live state."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa
from tests.conftest import eventually
from tests.edge.conftest import Recorder, modbus_plc, recorder

from helan.admin.bootstrap import bootstrap_admin
from helan.api.app import create_app
from helan.config import Settings
from helan.connect.commands.service import CommandService
from helan.connect.mqtt.subscriber import MqttIngest
from helan.edge.config import EdgeConfig
from helan.edge.gateway import Gateway
from helan.platform import Platform
from helan.protocol.commands import CommandMessage, Reply
from helan.sim.plc.modbus import SimulatedModbusPlc
from helan.storage.meta.models import AuditEntry
from helan.storage.telemetry.base import RawQuery

__all__ = ["modbus_plc", "recorder"]
PASSWORD = "correct horse battery staple"
SERVICES = [
    {
        "name": "set_speed",
        "inputs": [{"name": "speed_sp", "type": "int", "min": 0, "max": 5000}],
    },
    {"name": "valve", "inputs": [{"name": "valve_open", "type": "bool"}]},
]


@dataclass
class Plant:
    client: httpx.AsyncClient
    platform: Platform
    gateway: Gateway
    tenant: str
    operator: dict[str, str]
    viewer: dict[str, str]

    def url(self, device: str = "pump-1") -> str:
        return f"/api/v1/tenants/{self.tenant}/devices/{device}/commands"

    async def command(
        self, headers: dict[str, str], body: dict[str, Any], device: str = "pump-1"
    ) -> httpx.Response:
        return await self.client.post(self.url(device), headers=headers, json=body)


async def _ok(
    client: httpx.AsyncClient, method: str, url: str, headers: dict[str, str], body: Any
) -> Any:
    r = await client.request(method, url, headers=headers, json=body)
    assert r.status_code < 300, f"{method} {url}: {r.status_code} {r.text}"
    return r.json()


async def _token(client: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    body = await _ok(
        client, "POST", "/api/v1/auth/token", {}, {"username": username, "password": password}
    )
    return {"Authorization": f"Bearer {body['access_token']}"}


def _edge_config(tmp: Path, plc: SimulatedModbusPlc, url: str, tenant: str) -> EdgeConfig:
    return EdgeConfig.model_validate(
        {
            "uplink": {
                "url": url,
                "tenant": tenant,
                "client_id": f"edge-{tenant}",
                "gateway_device": "gw-1",
                "health_interval_s": 0.2,
            },
            "buffer": {"path": tmp / "buffer.sqlite3"},
            "modbus": [
                {
                    "name": "pump-plc",
                    "host": "127.0.0.1",
                    "port": plc.port,
                    "device": "pump-1",
                    "poll_interval_s": 0.05,
                    "points": [
                        {"metric": "speed_sp", "address": 9, "writable": True, "max": 3000},
                        {"metric": "pressure", "address": 0, "type": "float32"},
                        {
                            "metric": "valve_open",
                            "table": "coil",
                            "address": 1,
                            "type": "bool",
                            "writable": True,
                        },
                    ],
                }
            ],
        }
    )


@pytest.fixture
async def plant(
    tmp_path: Path, mosquitto_url: str, modbus_plc: SimulatedModbusPlc
) -> AsyncIterator[Plant]:
    tenant = f"t{uuid.uuid4().hex[:10]}"
    settings = Settings(data_dir=tmp_path / "var", mqtt_url=mosquitto_url, ingest_batch_ms=20)
    platform = Platform.build(settings)
    await platform.pipeline.start()
    admin_password = bootstrap_admin(platform.meta)
    assert admin_password is not None
    platform.commands = CommandService(
        url=mosquitto_url, meta=platform.meta, client_id=f"cmd-{tenant}"
    )
    await platform.commands.start()
    platform.mqtt = MqttIngest(
        mosquitto_url,
        platform.pipeline,
        platform.directory,
        platform.live,
        settings,
        client_id=f"ingest-{tenant}",
        tenants=[tenant],
    )
    await platform.mqtt.start()
    transport = httpx.ASGITransport(app=create_app(platform))
    client = httpx.AsyncClient(transport=transport, base_url="http://helan")
    root = await _token(client, "admin", admin_password)
    await _ok(client, "POST", "/api/v1/tenants", root, {"id": tenant, "name": tenant})
    base = f"/api/v1/tenants/{tenant}"
    for role in ("operator", "viewer"):
        await _ok(
            client,
            "POST",
            f"{base}/users",
            root,
            {"username": f"{tenant}-{role}", "password": PASSWORD, "role": role},
        )
    operator = await _token(client, f"{tenant}-operator", PASSWORD)
    viewer = await _token(client, f"{tenant}-viewer", PASSWORD)
    props = [
        {"name": "speed_sp", "type": "int"},
        {"name": "pressure"},
        {"name": "valve_open", "type": "bool"},
    ]
    await _ok(
        client,
        "POST",
        f"{base}/device-types",
        operator,
        {"id": "pump", "name": "Pump", "properties": props, "services": SERVICES},
    )
    await _ok(
        client, "POST", f"{base}/device-types", operator, {"id": "gateway", "name": "Gateway"}
    )
    for device, dtype in (("pump-1", "pump"), ("pump-2", "pump"), ("gw-1", "gateway")):
        await _ok(
            client,
            "POST",
            f"{base}/devices",
            operator,
            {"id": device, "name": device, "device_type": dtype},
        )
    gateway = Gateway(_edge_config(tmp_path, modbus_plc, mosquitto_url, tenant))
    await gateway.start()
    await eventually(lambda: gateway.forwarder.status.connected)
    try:
        yield Plant(client, platform, gateway, tenant, operator, viewer)
    finally:
        await gateway.stop()
        await client.aclose()
        await platform.mqtt.stop()
        await platform.commands.stop()
        await platform.pipeline.stop()
        if platform.ident is not None:
            platform.ident.close()
        platform.telemetry.close()
        platform.meta.close()


def _stored(platform: Platform, tenant: str, metric: str) -> list[Any]:
    q = RawQuery(
        tenant=tenant, device="pump-1", metric=metric, start_ms=0, end_ms=2**62, limit=10_000
    )
    return platform.telemetry.raw(q)["value"].to_pylist()


async def test_command_writes_the_plc_register(
    plant: Plant, recorder: Callable[[str, str], Recorder], mosquitto_url: str
) -> None:
    tap = recorder(mosquitto_url, f"helan/v1/{plant.tenant}/pump-1/commands/#")
    r = await plant.command(
        plant.operator, {"service": "set_speed", "params": {"speed_sp": 1234}, "timeout_s": 5}
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "success", done
    assert done["reason"] == "executed"
    # The PLC's register really changed: the gateway reads it back and the platform stores it.
    await eventually(lambda: 1234.0 in _stored(plant.platform, plant.tenant, "speed_sp"))
    r = await plant.command(plant.operator, {"service": "valve", "params": {"valve_open": True}})
    assert r.json()["status"] == "success"

    got = await plant.client.get(f"{plant.url()}/{done['id']}", headers=plant.viewer)
    assert got.status_code == 200
    assert got.json()["status"] == "success"
    assert got.json()["requested_by"] == f"user:{plant.tenant}-operator"
    listed = await plant.client.get(plant.url(), headers=plant.viewer)
    assert [c["service"] for c in listed.json()["items"]] == ["valve", "set_speed"]

    # A captured command played again is refused by the gateway, and so is a stale one.
    captured = next(p for t, p in tap.snapshot() if t.endswith(done["id"]))
    tap.publish(f"helan/v1/{plant.tenant}/pump-1/commands/{done['id']}", captured)
    old = CommandMessage.decode(captured)
    stale = CommandMessage(
        id="stale1",
        service=old.service,
        params={"speed_sp": 9},
        issued_at=old.issued_at - 60_000,
        expires_at=old.issued_at - 50_000,
    )
    tap.publish(f"helan/v1/{plant.tenant}/pump-1/commands/stale1", stale.encode())
    await eventually(lambda: sum(t.endswith("/reply") for t, _ in tap.snapshot()) >= 4)
    replies = {
        Reply.decode(p).id: Reply.decode(p) for t, p in tap.snapshot() if t.endswith("/reply")
    }
    assert replies["stale1"].reason == "expired"
    assert plant.gateway.commands.outcomes["replay"] == 1
    assert plant.gateway.commands.outcomes["expired"] == 1
    assert 9.0 not in _stored(plant.platform, plant.tenant, "speed_sp")


async def test_refusals_timeouts_and_audit(plant: Plant) -> None:
    r = await plant.command(plant.viewer, {"service": "set_speed", "params": {"speed_sp": 10}})
    assert r.status_code == 403
    r = await plant.command(plant.operator, {"service": "self_destruct", "params": {}})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "unknown_service"
    r = await plant.command(plant.operator, {"service": "set_speed", "params": {"speed_sp": 9000}})
    assert r.status_code == 422
    assert "out of range" in r.json()["error"]["message"]
    r = await plant.command(plant.operator, {"service": "set_speed", "params": {"rpm": 1}})
    assert r.status_code == 422
    r = await plant.command(
        plant.operator, {"service": "set_speed", "params": {"speed_sp": 10}}, device="ghost"
    )
    assert r.status_code == 404

    # Allowed by the thing model (max 5000) but above the point's range on the gateway (3000).
    r = await plant.command(plant.operator, {"service": "set_speed", "params": {"speed_sp": 4000}})
    assert r.status_code == 200
    assert r.json()["status"] == "failure"
    assert r.json()["reason"] == "refused"
    assert "above the maximum" in r.json()["message"]

    # No gateway serves pump-2: nobody answers.
    r = await plant.command(
        plant.operator,
        {"service": "set_speed", "params": {"speed_sp": 5}, "timeout_s": 0.3},
        device="pump-2",
    )
    assert r.json()["status"] == "timeout"

    with plant.platform.meta.session() as s:
        rows = s.execute(
            sa.select(AuditEntry.object_id, AuditEntry.result, AuditEntry.actor)
            .where(AuditEntry.tenant_id == plant.tenant, AuditEntry.action == "device.command")
            .order_by(AuditEntry.id)
        ).all()
    assert [(o, res) for o, res, _ in rows] == [
        ("pump-1", "unknown_service"),
        ("pump-1", "invalid_params"),
        ("pump-1", "invalid_params"),
        ("ghost", "not_found"),
        ("pump-1", "failure"),
        ("pump-2", "timeout"),
    ]
    assert {a for _, _, a in rows} == {f"{plant.tenant}-operator"}


async def test_gateway_health_reaches_live_state(plant: Plant) -> None:
    def attributes(device: str) -> dict[str, object]:
        state = plant.platform.live.device(plant.tenant, device)
        return state.attributes if state is not None else {}

    await eventually(
        lambda: (
            "edge_connections" in attributes("gw-1") and "edge_connections" in attributes("pump-1")
        )
    )
    gw = attributes("gw-1")
    assert gw["edge_connections"]["pump-plc"]["connected"] is True  # type: ignore[index]
    assert gw["edge_uplink"]["connected"] is True  # type: ignore[index]
    assert attributes("pump-1")["edge_gateway"] == "gw-1"
    live = await plant.client.get(
        f"/api/v1/tenants/{plant.tenant}/devices/gw-1/live", headers=plant.viewer
    )
    assert live.json()["online"] is True
    assert orjson.loads(orjson.dumps(live.json()["attributes"]))["edge_buffer"]["dropped_full"] == 0
