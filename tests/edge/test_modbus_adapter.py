"""The Modbus adapter against a real pymodbus server: values, merged requests, faults, writes."""

from __future__ import annotations

import pytest

from helan.edge.adapters.base import CommandFailed, CommandRefused
from helan.edge.adapters.modbus import ModbusAdapter, ModbusConnection, ModbusPoint
from helan.edge.readings import SampleSet
from helan.sim.plc.modbus import BANK_START, SimulatedModbusPlc
from tests.conftest import eventually

PUMP_POINTS = (
    ModbusPoint(metric="pressure", address=0, type="float32", unit="bar"),
    ModbusPoint(metric="current", address=2, type="float32", unit="A"),
    ModbusPoint(metric="strokes", address=6, type="uint32"),
    ModbusPoint(metric="bearing_temp", address=8, type="int16", scale=0.1, unit="degC"),
    ModbusPoint(metric="speed_sp", address=9, type="uint16", writable=True, min=0, max=3000),
    ModbusPoint(metric="runtime", address=10, type="uint64"),
    ModbusPoint(metric="energy", address=14, type="float64"),
    ModbusPoint(metric="pressure_cdab", address=18, type="float32", word_order="little"),
    ModbusPoint(metric="voltage", table="input", address=0, type="float32"),
    ModbusPoint(metric="running", table="coil", address=0, type="bool", writable=True),
    ModbusPoint(metric="door_closed", table="discrete_input", address=2, type="bool"),
)


def _conn(plc: SimulatedModbusPlc, *points: ModbusPoint, **kw: object) -> ModbusConnection:
    opts: dict[str, object] = {
        "name": "pump-plc",
        "host": "127.0.0.1",
        "port": plc.port,
        "device": "pump-1",
        "poll_interval_s": 0.05,
        "timeout_s": 0.3,
        "reconnect_min_s": 0.05,
        "reconnect_max_s": 0.2,
        "points": points or PUMP_POINTS,
    }
    opts.update(kw)
    return ModbusConnection.model_validate(opts)


async def test_reads_every_type_with_one_request_per_table(modbus_plc: SimulatedModbusPlc) -> None:
    adapter = ModbusAdapter(_conn(modbus_plc))
    got: list[SampleSet] = []
    await adapter.start(got.extend)
    try:
        await eventually(lambda: len(got) >= 3)
    finally:
        await adapter.stop()
    cycles = adapter.cycles
    # holding 0..19 is one request, and one each for input, coil, discrete input; stop() may
    # cancel a cycle whose first reads the server already counted, hence "+ 1 at most".
    for table in (3, 4, 1, 2):
        assert cycles <= modbus_plc.requests[table] <= cycles + 1, table
    last = got[-1]
    assert last.device == "pump-1"
    assert last.bad == {}
    v = last.values
    assert 2.5 < v["pressure"] < 5.5  # type: ignore[operator]
    assert v["pressure_cdab"] == v["pressure"]  # same value, other word order
    assert isinstance(v["strokes"], int)
    assert v["strokes"] >= 3
    assert v["bearing_temp"] == pytest.approx(45.0, abs=5.1)
    assert v["speed_sp"] == 1450
    assert v["running"] is True
    assert v["door_closed"] is True
    assert 390 < v["voltage"] < 410  # type: ignore[operator]
    assert got[0].values["strokes"] < last.values["strokes"]  # type: ignore[operator]


async def test_many_points_are_merged_into_few_requests(modbus_plc: SimulatedModbusPlc) -> None:
    points = tuple(
        ModbusPoint(metric=f"r{i}", address=BANK_START + i, type="uint16") for i in range(400)
    )
    adapter = ModbusAdapter(_conn(modbus_plc, *points))
    assert [b.count for b in adapter.blocks] == [125, 125, 125, 25]
    got: list[SampleSet] = []
    await adapter.start(got.extend)
    try:
        await eventually(lambda: len(got) >= 2)
    finally:
        await adapter.stop()
    # 4 merged requests per cycle (a cycle cancelled by stop() may have sent some of its 4)
    assert 4 * adapter.cycles <= modbus_plc.requests[3] < 4 * (adapter.cycles + 1)
    assert len(got[-1].values) == 400
    assert got[-1].bad == {}


async def test_exception_response_marks_only_the_missing_point_bad(
    modbus_plc: SimulatedModbusPlc,
) -> None:
    points = (
        ModbusPoint(metric="pressure", address=0, type="float32"),
        ModbusPoint(metric="ghost", address=22, type="uint16"),  # 20..99 do not exist
    )
    adapter = ModbusAdapter(_conn(modbus_plc, *points, max_gap=30))
    assert len(adapter.blocks) == 1  # merged at first
    got: list[SampleSet] = []
    await adapter.start(got.extend)
    try:
        await eventually(lambda: len(got) >= 3)
    finally:
        await adapter.stop()
    assert "illegal data address" in got[0].bad["pressure"]  # the merged read failed whole
    assert len(adapter.blocks) == 2  # ... so it was split
    assert got[-1].values.keys() == {"pressure"}
    assert got[-1].bad == {"ghost": "read holding 22+1: exception 2 (illegal data address)"}
    assert adapter.status.errors == 0  # an exception response is not a broken connection


@pytest.mark.parametrize(
    ("fault", "reason"),
    [("short_reply", "wrong byte count"), ("drop_next", "connection closed by the PLC")],
)
async def test_broken_replies_give_bad_quality_and_a_reconnect(
    modbus_plc: SimulatedModbusPlc, fault: str, reason: str
) -> None:
    adapter = ModbusAdapter(_conn(modbus_plc))
    got: list[SampleSet] = []
    await adapter.start(got.extend)
    try:
        await eventually(lambda: len(got) >= 2)
        setattr(modbus_plc.faults, fault, True)
        await eventually(lambda: any(s.bad for s in got))
        broken = next(s for s in got if s.bad)
        await eventually(lambda: bool(got[-1].values) and adapter.status.reconnects >= 1)
    finally:
        await adapter.stop()
    # The fault may hit any read of the cycle: the points read before it keep their values, the
    # failed block carries the reason, and every later point is BAD too, never silently missing.
    assert len(broken.bad) + len(broken.values) == len(PUMP_POINTS)
    failed = [m for m, why in broken.bad.items() if not why.startswith("not read: ")]
    assert failed, broken.bad
    full = broken.bad[failed[0]]
    assert reason in full
    assert all(broken.bad[m] == full for m in failed), broken.bad  # one block failed
    later = [m for m in broken.bad if m not in failed]
    assert all(broken.bad[m] == f"not read: {full}" for m in later), broken.bad
    assert reason in (adapter.status.last_error or reason)
    assert got[-1].bad == {}


async def test_timeout_is_bad_quality_then_recovers(modbus_plc: SimulatedModbusPlc) -> None:
    adapter = ModbusAdapter(_conn(modbus_plc, timeout_s=0.1))
    got: list[SampleSet] = []
    await adapter.start(got.extend)
    try:
        await eventually(lambda: len(got) >= 1)
        modbus_plc.faults.delay_s = 0.3
        await eventually(lambda: any(s.bad for s in got))
        modbus_plc.faults.delay_s = 0
        mark = len(got)
        await eventually(lambda: len(got) > mark and not got[-1].bad)
    finally:
        await adapter.stop()
    assert adapter.status.errors >= 1


async def test_plc_down_then_up(modbus_plc: SimulatedModbusPlc) -> None:
    adapter = ModbusAdapter(_conn(modbus_plc))
    got: list[SampleSet] = []
    await modbus_plc.stop()
    await adapter.start(got.extend)
    try:
        await eventually(lambda: adapter.status.errors >= 2)
        assert len(got) == 1
        assert not got[0].values
        assert "connect" in (adapter.status.last_error or "")
        await modbus_plc.start()
        await eventually(lambda: bool(got[-1].values))
    finally:
        await adapter.stop()
    assert adapter.status.connected is False  # stopped


async def test_writes_checked_then_performed(modbus_plc: SimulatedModbusPlc) -> None:
    adapter = ModbusAdapter(_conn(modbus_plc))
    got: list[SampleSet] = []
    await adapter.start(got.extend)
    try:
        await eventually(lambda: len(got) >= 1)
        await adapter.write("pump-1", "speed_sp", 2000)
        await adapter.write("pump-1", "running", False)
        await eventually(lambda: got[-1].values.get("speed_sp") == 2000)
        await eventually(lambda: got[-1].values.get("running") is False)
        with pytest.raises(CommandRefused, match="not writable"):
            await adapter.write("pump-1", "pressure", 1.0)
        with pytest.raises(CommandRefused, match="above the maximum"):
            await adapter.write("pump-1", "speed_sp", 5000)
        with pytest.raises(CommandRefused, match="no point"):
            await adapter.write("pump-2", "speed_sp", 10)
        await modbus_plc.stop()
        await eventually(lambda: not adapter.status.connected)
        with pytest.raises(CommandFailed, match="not connected"):
            await adapter.write("pump-1", "speed_sp", 100)
    finally:
        await adapter.stop()
