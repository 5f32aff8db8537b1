"""Helan's own gateway as the Sparkplug edge node: simulated Modbus PLC → gateway (Sparkplug B
uplink) → Mosquitto → platform Sparkplug ingest → store, metadata and live state."""

from __future__ import annotations

from pathlib import Path

from sparkplug_helpers import SparkplugWorld, sparkplug_world
from tests.conftest import eventually
from tests.edge.conftest import modbus_plc

from helan.edge.config import EdgeConfig
from helan.edge.gateway import Gateway
from helan.sim.plc.modbus import SimulatedModbusPlc
from helan.storage.meta.models import Device

__all__ = ["modbus_plc", "sparkplug_world"]


async def test_gateway_sparkplug_into_the_store(
    tmp_path: Path, sparkplug_world: SparkplugWorld, modbus_plc: SimulatedModbusPlc
) -> None:
    w = sparkplug_world
    w.add_tenant(auto_create=True)
    config = EdgeConfig.model_validate(
        {
            "uplink": {
                "url": w.url,
                "tenant": w.tenant,
                "format": "sparkplug",
                "client_id": f"edge-{w.tenant}",
                "edge_node_id": "gw-1",
            },
            "buffer": {"path": tmp_path / "buffer.sqlite3"},
            "modbus": [
                {
                    "name": "pump-plc",
                    "host": "127.0.0.1",
                    "port": modbus_plc.port,
                    "device": "pump-1",
                    "poll_interval_s": 0.05,
                    "points": [
                        {"metric": "pressure", "address": 0, "type": "float32"},
                        {"metric": "strokes", "address": 6, "type": "uint32"},
                        {"metric": "ghost", "address": 50},
                        {"metric": "running", "table": "coil", "address": 0, "type": "bool"},
                    ],
                }
            ],
        }
    )
    gateway = Gateway(config)
    await gateway.start()
    try:
        await eventually(lambda: len(w.stored("pump-1", "strokes")) >= 10)
    finally:
        await gateway.stop()
    await eventually(lambda: not w.platform.live.device(w.tenant, "pump-1").connected)  # type: ignore[union-attr]

    strokes = [r["value"] for r in w.stored("pump-1", "strokes")]
    assert strokes == sorted(strokes)
    assert all(r["quality"] == 0 for r in w.stored("pump-1", "pressure"))
    ghost = w.stored("pump-1", "ghost")  # an address the PLC lacks: BAD, without a value
    assert ghost
    assert all(r["value"] is None and r["quality"] == 2 for r in ghost)
    assert sum(w.ingest.rejected.values()) == 0, w.ingest.rejected
    with w.platform.meta.session() as s:
        for device in ("gw-1", "pump-1"):
            row = s.get(Device, (w.tenant, device))
            assert row is not None
            assert row.attributes["sparkplug_node"] == f"{w.tenant}/gw-1"
