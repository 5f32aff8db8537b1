"""Commands with several params against a real (simulated) Modbus PLC: every param is checked
before the first write, and a PLC failing part-way is reported write by write."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from helan.edge.adapters.modbus import ModbusAdapter, ModbusConnection, ModbusPoint
from helan.edge.buffer import Buffer
from helan.edge.commands import CommandExecutor
from helan.edge.readings import SampleSet, now_ms
from helan.protocol.commands import CommandMessage, command_topic
from helan.sim.plc.modbus import SimulatedModbusPlc
from tests.conftest import eventually

POINTS = (
    ModbusPoint(metric="speed_sp", address=9, type="uint16", writable=True, min=0, max=3000),
    ModbusPoint(metric="running", table="coil", address=0, type="bool", writable=True),
    # declared writable, but the PLC has no register 22: the write itself fails
    ModbusPoint(metric="ghost", address=22, type="uint16", writable=True),
)
Rig = tuple[CommandExecutor, ModbusAdapter, list[SampleSet], list[dict[str, str]]]


@pytest.fixture
async def rig(tmp_path: Path, modbus_plc: SimulatedModbusPlc) -> AsyncIterator[Rig]:
    conn = ModbusConnection.model_validate(
        {
            "name": "pump-plc",
            "host": "127.0.0.1",
            "port": modbus_plc.port,
            "device": "pump-1",
            "poll_interval_s": 0.05,
            "timeout_s": 0.5,
            "points": [p for p in POINTS if p.metric != "ghost"],
        }
    )
    reader = ModbusAdapter(conn)  # reads back what the commands wrote
    writer = ModbusAdapter(conn.model_copy(update={"points": POINTS, "name": "pump-writer"}))
    got: list[SampleSet] = []
    await reader.start(got.extend)
    await writer.start(lambda sets: None)
    buffer = Buffer(tmp_path / "buffer.sqlite3", max_bytes=1 << 20, max_age_s=3600)

    async def no_method(device: str, service: str, params: object) -> None:
        return None

    executor = CommandExecutor(
        tenant="acme",
        devices=["pump-1"],
        buffer=buffer,
        check=writer.check,
        write=writer.write,
        call=no_method,  # type: ignore[arg-type]
    )
    replies: list[dict[str, str]] = []

    async def publish(topic: str, payload: bytes) -> None:
        replies.append(orjson.loads(payload))

    executor.publish = publish
    await eventually(lambda: reader.status.connected and writer.status.connected and got)
    yield executor, writer, got, replies
    await executor.stop()
    await writer.stop()
    await reader.stop()
    buffer.close()


async def _command(
    executor: CommandExecutor, replies: list[dict[str, str]], **params: object
) -> dict[str, str]:
    cid = uuid.uuid4().hex
    message = CommandMessage(
        id=cid,
        service="write",
        params=params,  # type: ignore[arg-type]
        issued_at=now_ms(),
        expires_at=now_ms() + 5000,
    )
    executor.on_message(command_topic("acme", "pump-1", cid), message.encode())
    await eventually(lambda: any(r["id"] == cid for r in replies))
    return next(r for r in replies if r["id"] == cid)


async def test_a_refused_param_writes_nothing(rig: Rig) -> None:
    executor, _, got, replies = rig
    before = got[-1].values["speed_sp"]
    reply = await _command(executor, replies, speed_sp=before + 100, running=False, bogus=1)
    assert (reply["status"], reply["reason"]) == ("failure", "refused")
    assert "no point 'bogus'" in reply["message"]
    reply = await _command(executor, replies, speed_sp=before + 100, running=7)
    assert (reply["status"], reply["reason"]) == ("failure", "refused")
    assert "running" in reply["message"]
    n = len(got)
    await eventually(lambda: len(got) >= n + 3)
    assert got[-1].values["speed_sp"] == before  # the valid first param was not written
    assert got[-1].values["running"] is True


async def test_a_plc_failing_part_way_is_reported_write_by_write(rig: Rig) -> None:
    executor, _, got, replies = rig
    reply = await _command(executor, replies, speed_sp=1234, ghost=5, running=False)
    assert (reply["status"], reply["reason"]) == ("failure", "write_failed")
    message = reply["message"]
    assert message.startswith("ghost: ")
    assert "illegal data address" in message
    assert "already written: speed_sp" in message
    assert "not written: running" in message
    await eventually(lambda: got[-1].values["speed_sp"] == 1234)
    assert got[-1].values["running"] is True  # after the failure nothing more was written
    ok = await _command(executor, replies, speed_sp=1500, running=False)
    assert (ok["status"], ok["reason"]) == ("success", "executed")
    await eventually(lambda: got[-1].values["running"] is False)
