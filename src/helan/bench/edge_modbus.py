"""``helan bench edge-modbus``: points/s from a simulated Modbus PLC through the gateway (merged
reads, SQLite buffer, QoS 1 with delete-after-PUBACK) into the broker and on into the
platform's store (MQTT ingest with ack after commit → pipeline → DuckDB).

The PLC runs in its own process (it would be another machine in a plant); the gateway and the
platform's ingest share this one (and its core). ``points_per_s`` counts points the platform
wrote durably; ``broker_points_per_s`` those whose MQTT message the broker acknowledged.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import psutil
import typer

from helan.bench.edge_platform import BenchPlatform
from helan.edge.config import EdgeConfig
from helan.edge.gateway import Gateway
from helan.observe.report import report
from helan.sim.plc.modbus import BANK_START


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _config(tmp: Path, port: int, mqtt: str, plcs: int, points: int, interval: float) -> EdgeConfig:
    conns = []
    for i in range(plcs):
        conns.append(
            {
                "name": f"plc-{i}",
                "host": "127.0.0.1",
                "port": port,
                "device": f"bench-{i}",
                "poll_interval_s": interval,
                "timeout_s": 2.0,
                "points": [
                    {"metric": f"r{a}", "address": BANK_START + a, "type": "uint16"}
                    for a in range(points)
                ],
            }
        )
    return EdgeConfig.model_validate(
        {
            "uplink": {"url": mqtt, "tenant": "bench", "client_id": f"bench-edge-{port}"},
            "buffer": {"path": tmp / "buffer.sqlite3", "max_bytes": 1 << 30},
            "modbus": conns,
        }
    )


async def _measure(
    tmp: Path, mqtt: str, plcs: int, points: int, interval: float, seconds: float
) -> tuple[dict[str, object], dict[str, str]]:
    port = _free_port()
    plc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "helan.sim.plc.modbus", str(port), str(points)
    )
    try:
        await asyncio.to_thread(_wait_port, port)
        devices = {f"bench-{i}": [f"r{a}" for a in range(points)] for i in range(plcs)}
        platform = BenchPlatform(tmp, mqtt, "bench", devices)
        await platform.start()
        gateway = Gateway(_config(tmp, port, mqtt, plcs, points, interval))
        proc = psutil.Process()
        await gateway.start()
        await asyncio.sleep(1.0)  # connect and warm up
        p0, s0 = gateway.forwarder.points_sent, platform.accepted()
        t0, c0 = time.perf_counter(), proc.cpu_times()
        await asyncio.sleep(seconds)
        p1, s1 = gateway.forwarder.points_sent, platform.accepted()
        t1, c1 = time.perf_counter(), proc.cpu_times()
        health = gateway.health()
        await gateway.stop()
        await platform.stop()
        platform.close()
    finally:
        plc.terminate()
        await plc.wait()
    elapsed = t1 - t0
    cpu = (c1.user - c0.user + c1.system - c0.system) / elapsed
    buffer = health["buffer"]
    assert isinstance(buffer, dict)
    figures: dict[str, object] = {
        "points_per_s": round((s1 - s0) / elapsed, 1),
        "broker_points_per_s": round((p1 - p0) / elapsed, 1),
        "process_cpu_cores": round(cpu, 2),
        "plcs": plcs,
        "points_per_plc": points,
        "poll_interval_s": interval,
        "seconds": seconds,
        "buffer_rows_left": buffer["rows"],
        "dropped": buffer["dropped_full"] + buffer["dropped_age"],
    }
    notes = {
        "points_per_s": "written durably into the platform's store (DuckDB)",
        "broker_points_per_s": "acknowledged by the broker (QoS 1), after the SQLite buffer",
        "process_cpu_cores": "gateway + platform ingest; the PLC runs in another process",
    }
    return figures, notes


def run(
    seconds: Annotated[float, typer.Option(help="Measured seconds.")] = 30.0,
    plcs: Annotated[int, typer.Option(help="PLC connections (each its own poll loop).")] = 8,
    points: Annotated[int, typer.Option(help="uint16 points per PLC.")] = 1000,
    interval: Annotated[float, typer.Option(help="Poll interval, seconds.")] = 0.25,
    mqtt: Annotated[str, typer.Option(help="Broker URL.")] = "mqtt://127.0.0.1:1883",
) -> None:
    """Simulated Modbus PLC -> gateway -> MQTT; target 20,000 points/s."""
    with tempfile.TemporaryDirectory(prefix="helan-bench-edge-") as tmp:
        figures, notes = asyncio.run(_measure(Path(tmp), mqtt, plcs, points, interval, seconds))
    report(f"edge-modbus: {plcs} PLC x {points} points every {interval:g} s", figures, notes)
