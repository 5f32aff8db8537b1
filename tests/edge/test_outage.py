"""Store-and-forward under a real outage: the uplink broker is down, the gateway process is
SIGKILLed and restarted during the outage, then the broker returns. Nothing may be lost."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from helan.sim.plc.modbus import SimulatedModbusPlc
from tests.conftest import eventually
from tests.edge.conftest import PrivateBroker, Recorder

CONFIG = """
[uplink]
url = "{url}"
tenant = "outage"
client_id = "edge-outage"
reconnect_min_s = 1.0
reconnect_max_s = 1.0

[buffer]
path = "{buffer}"

[[modbus]]
name = "pump-plc"
host = "127.0.0.1"
port = {port}
device = "pump-1"
poll_interval_s = 0.02

[[modbus.points]]
metric = "pressure"
address = 0
type = "float32"

[[modbus.points]]
metric = "strokes"
address = 6
type = "uint32"
"""


def _buffer_state(path: Path) -> dict[str, int]:
    """Read by a second connection while the gateway writes (WAL allows it)."""
    try:
        with sqlite3.connect(path) as db:
            rows = db.execute("SELECT COUNT(*) FROM samples").fetchone()[0]
            counters = dict(db.execute("SELECT name, value FROM counters").fetchall())
    except sqlite3.OperationalError:  # the gateway is still creating the file
        return {"rows": 0}
    return {"rows": rows, **counters}


def _gateway(config: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "helan", "edge", "--config", str(config), "--health-every", "1"],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


@pytest.mark.slow
async def test_sigkill_during_outage_loses_nothing(
    tmp_path: Path,
    modbus_plc: SimulatedModbusPlc,
    private_broker: PrivateBroker,
    recorder: Callable[[str, str], Recorder],
) -> None:
    buffer = tmp_path / "buffer.sqlite3"
    config = tmp_path / "edge.toml"
    config.write_text(CONFIG.format(url=private_broker.url, buffer=buffer, port=modbus_plc.port))
    log = tmp_path / "gateway.log"

    first = _gateway(config, log)  # the broker is down from the start
    try:
        await eventually(
            lambda: buffer.exists() and _buffer_state(buffer)["rows"] >= 40, within=20.0
        )
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(5)
    killed_with = _buffer_state(buffer)

    second = _gateway(config, log)
    try:
        await eventually(
            lambda: _buffer_state(buffer)["rows"] >= killed_with["rows"] + 40, within=20.0
        )
        private_broker.start()  # the uplink returns; the gateway retries within ~1 s
        rec = recorder(private_broker.url, "helan/v1/outage/#")
        await eventually(
            lambda: _buffer_state(buffer).get("sent", 0) >= killed_with["rows"] + 40, within=20.0
        )
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(10) == 0, log.read_text()[-3000:]
    await asyncio.sleep(0.3)  # last PUBLISHes in flight to the recorder

    final = _buffer_state(buffer)
    received = {orjson.loads(p)["ts"] for t, p in rec.snapshot() if t.endswith("/pump-1/telemetry")}
    assert final.get("dropped_full", 0) == 0
    assert final.get("dropped_age", 0) == 0
    assert final["appended"] > killed_with["appended"] > 0
    with sqlite3.connect(buffer) as db:  # still buffered (maybe also sent, awaiting PUBACK)
        kept = {orjson.loads(b)["t"] for (b,) in db.execute("SELECT body FROM samples")}
    lost = final["appended"] - len(received | kept)
    assert lost == 0, f"{final=} received={len(received)} kept={len(kept)}"
    assert final["sent"] <= len(received)  # nothing deleted without its PUBACK
