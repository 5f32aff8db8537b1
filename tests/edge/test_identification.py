"""What the PLC says it is: Modbus Read Device Identification (FC 43/14) and OPC UA BuildInfo
read once per connect against the simulated PLCs, and reported as the attribute
``identification`` of the connection's own device."""

from __future__ import annotations

from pathlib import Path

from helan.edge.adapters.modbus import ModbusAdapter, ModbusConnection, ModbusPoint
from helan.edge.adapters.opcua.adapter import OpcUaAdapter
from helan.edge.adapters.opcua.config import OpcUaConnection
from helan.edge.config import EdgeConfig
from helan.edge.gateway import Gateway
from helan.edge.readings import SampleSet
from helan.sim.plc.modbus import SimulatedModbusPlc
from helan.sim.plc.opcua import SimulatedOpcUaPlc
from tests.conftest import eventually, free_port

POINT = ModbusPoint(metric="pressure", address=0, type="float32")


def _modbus(port: int) -> ModbusConnection:
    return ModbusConnection.model_validate(
        {
            "name": "pump-plc",
            "host": "127.0.0.1",
            "port": port,
            "device": "pump-1",
            "poll_interval_s": 0.05,
            "timeout_s": 0.3,
            "reconnect_min_s": 0.05,
            "reconnect_max_s": 0.2,
            "points": [POINT],
        }
    )


async def test_modbus_adapter_reads_device_identification(
    modbus_plc: SimulatedModbusPlc,
) -> None:
    adapter = ModbusAdapter(_modbus(modbus_plc.port))
    got: list[SampleSet] = []
    await adapter.start(got.extend)
    try:
        await eventually(lambda: len(got) >= 2)
        assert adapter.identification == {
            "vendor_name": "Schneider Electric",
            "product_code": "BMXP342020",
            "revision": "V3.40",
            "product_name": "Modicon M340",
            "model_name": "BMX P34 2020",
            "source": "modbus",
        }
        assert modbus_plc.requests[43] == 1  # once per connect, not per poll
        modbus_plc.drop_connections()
        await eventually(lambda: adapter.status.reconnects >= 1 and modbus_plc.requests[43] == 2)
    finally:
        await adapter.stop()


async def test_a_plc_without_identification_is_still_polled() -> None:
    plc = SimulatedModbusPlc(port=free_port(), identity=None)
    await plc.start()
    adapter = ModbusAdapter(_modbus(plc.port))
    got: list[SampleSet] = []
    try:
        await adapter.start(got.extend)
        await eventually(lambda: len(got) >= 3)
        assert adapter.identification is None
        assert adapter.status.connected
        assert adapter.status.errors == 0
        assert "pressure" in got[-1].values
    finally:
        await adapter.stop()
        await plc.stop()


async def test_opcua_adapter_reads_build_info(opcua_plc: SimulatedOpcUaPlc) -> None:
    conn = OpcUaConnection.model_validate(
        {
            "name": "oven-plc",
            "endpoint": opcua_plc.endpoint,
            "device": "oven-1",
            "timeout_s": 2,
            "nodes": [{"metric": "temperature", "node_id": "ns=2;s=Oven.Temperature"}],
        }
    )
    adapter = OpcUaAdapter(conn)
    await adapter.start(lambda _sets: None)
    try:
        await eventually(lambda: adapter.identification is not None)
    finally:
        await adapter.stop()
    assert adapter.identification == {
        "manufacturer": "WAGO",
        "product": "PFC200",
        "software_version": "FW24",
        "source": "opcua",
    }


async def test_gateway_reports_identification_on_the_plcs_own_device(tmp_path: Path) -> None:
    config = EdgeConfig.model_validate(
        {
            "uplink": {"url": "mqtt://127.0.0.1:1", "tenant": "acme", "client_id": "edge-1"},
            "buffer": {"path": tmp_path / "buffer.sqlite3"},
            "modbus": [
                {
                    "name": "pump-plc",
                    "host": "127.0.0.1",
                    "port": 1,
                    "device": "plc-1",
                    "points": [{"metric": "pressure", "address": 0, "device": "pump-1"}],
                },
                {
                    "name": "other-plc",
                    "host": "127.0.0.1",
                    "port": 2,
                    "device": "plc-2",
                    "points": [{"metric": "pressure", "address": 0}],
                },
            ],
        }
    )
    gw = Gateway(config)
    try:
        gw.adapters[0].identification = {"vendor_name": "WAGO", "source": "modbus"}
        bodies = dict(gw.health_messages())
    finally:
        gw.buffer.close()
    assert bodies["helan/v1/acme/plc-1/attributes"]["identification"] == {
        "vendor_name": "WAGO",
        "source": "modbus",
    }
    assert "identification" not in bodies["helan/v1/acme/pump-1/attributes"]  # what it measures
    assert "identification" not in bodies["helan/v1/acme/plc-2/attributes"]  # not identified
