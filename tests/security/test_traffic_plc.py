"""The detector tapping the simulated PLC: real pymodbus clients over loopback, normal polling
learned, then the attacks (new peer, unexpected write, diagnostics, address scan) raise alerts
and security_anomaly events, while more normal polling stays quiet."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest
from pymodbus.client import AsyncModbusTcpClient
from tests.conftest import free_port

from helan.core.events import EventRow
from helan.security.traffic.detector import TrafficDetector
from helan.security.traffic.events import SECURITY_ANOMALY, ModbusTap, SecurityEvents
from helan.sim.plc.modbus import SimulatedModbusPlc


@pytest.fixture
async def tapped() -> AsyncIterator[tuple[SimulatedModbusPlc, ModbusTap, list[EventRow]]]:
    events: list[EventRow] = []

    def submit(rows: Sequence[EventRow]) -> None:
        events.extend(rows)

    tap = ModbusTap(
        TrafficDetector(learn_s=3600),
        events=SecurityEvents("t1", "plc-1", "modbus"),
        submit=submit,
    )
    plc = SimulatedModbusPlc(port=free_port(), tap=tap)
    await plc.start()
    yield plc, tap, events
    await plc.stop()


async def _client(plc: SimulatedModbusPlc, source: str = "127.0.0.1") -> AsyncModbusTcpClient:
    client = AsyncModbusTcpClient(
        plc.host, port=plc.port, source_address=(source, 0), retries=0, reconnect_delay=0
    )
    assert await client.connect()
    return client


async def _poll(client: AsyncModbusTcpClient, rounds: int = 3) -> None:
    for _ in range(rounds):
        assert not (await client.read_holding_registers(0, count=10, device_id=0)).isError()
        assert not (await client.read_input_registers(0, count=3, device_id=0)).isError()
        assert not (await client.read_coils(0, count=3, device_id=0)).isError()


async def _learned(plc: SimulatedModbusPlc, tap: ModbusTap) -> AsyncModbusTcpClient:
    scada = await _client(plc)
    await _poll(scada)
    tap.detector.finish_learning()
    await _poll(scada)
    assert list(tap.alerts) == []
    return scada


async def test_normal_polling_learned_then_quiet(
    tapped: tuple[SimulatedModbusPlc, ModbusTap, list[EventRow]],
) -> None:
    plc, tap, events = tapped
    scada = await _learned(plc, tap)
    other = await _client(plc)  # a second connection of the same station: same service
    await _poll(other)
    assert list(tap.alerts) == []
    assert events == []
    assert ("127.0.0.1", "127.0.0.1", 0, 3) in tap.detector.ranges
    assert tap.detector.ranges[("127.0.0.1", "127.0.0.1", 0, 3)] == (0, 9)
    scada.close()
    other.close()


async def test_unexpected_write_and_address_out_of_range(
    tapped: tuple[SimulatedModbusPlc, ModbusTap, list[EventRow]],
) -> None:
    plc, tap, events = tapped
    scada = await _learned(plc, tap)
    assert not (await scada.write_register(9, 1200, device_id=0)).isError()
    assert not (await scada.read_holding_registers(10, count=4, device_id=0)).isError()
    kinds = [a.kind for a in tap.alerts]
    assert "unexpected_write" in kinds
    assert "address_out_of_range" in kinds
    assert {e.event for e in events} == {SECURITY_ANOMALY}
    write = next(e for e in events if e.data["kind"] == "unexpected_write")
    assert (write.tenant, write.device, write.level) == ("t1", "plc-1", "fault")
    assert write.data["client"] == "127.0.0.1"
    assert write.data["source"] == "modbus"
    scada.close()


async def test_diagnostics_and_scan(
    tapped: tuple[SimulatedModbusPlc, ModbusTap, list[EventRow]],
) -> None:
    plc, tap, events = tapped
    scada = await _learned(plc, tap)
    await scada.diag_read_bus_message_count(device_id=0)  # FC 8, whatever the PLC answers
    for address in range(20, 100, 10):  # not present: exception 2 each
        assert (await scada.read_holding_registers(address, count=1, device_id=0)).isError()
    kinds = [a.kind for a in tap.alerts]
    assert "diagnostics" in kinds
    assert "scan" in kinds
    assert kinds.count("scan") == 1  # one per window, not one per probe
    scans = [e for e in events if e.data["kind"] == "address_out_of_range"]
    assert len(scans) == 1  # events held back within hold_s
    scada.close()


async def test_new_peer(tapped: tuple[SimulatedModbusPlc, ModbusTap, list[EventRow]]) -> None:
    plc, tap, events = tapped
    scada = await _learned(plc, tap)
    intruder = await _client(plc, source="127.0.0.2")
    await intruder.read_holding_registers(0, count=10, device_id=0)
    alerts = list(tap.alerts)
    assert next(a.kind for a in alerts) == "new_modbus_peer"
    assert alerts[0].client == "127.0.0.2"
    assert alerts[0].severity == "high"
    assert events[0].data["kind"] == "new_modbus_peer"
    scada.close()
    intruder.close()
