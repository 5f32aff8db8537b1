"""``helan bench edge-opcua``: points/s from a simulated OPC UA server through the gateway
(subscription data changes, SQLite buffer, QoS 1) into the platform's store.

The server runs in its own process and changes ``nodes`` Double variables every ``period``; the
gateway subscribes to all of them (one subscription, sampling interval = period) and shares this
process with the platform's MQTT ingest and DuckDB store. ``points_per_s`` counts points the
platform wrote durably.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import psutil
import typer

from helan.bench.edge_modbus import _free_port, _wait_port
from helan.bench.edge_platform import BenchPlatform
from helan.bench.report import report
from helan.edge.config import EdgeConfig
from helan.edge.gateway import Gateway


def _config(tmp: Path, port: int, mqtt: str, nodes: int, period: float) -> EdgeConfig:
    return EdgeConfig.model_validate(
        {
            "uplink": {"url": mqtt, "tenant": "bench", "client_id": f"bench-edge-ua-{port}"},
            "buffer": {"path": tmp / "buffer.sqlite3", "max_bytes": 1 << 30},
            "opcua": [
                {
                    "name": "ua-plc",
                    "endpoint": f"opc.tcp://127.0.0.1:{port}/helan/",
                    "device": "bench-ua",
                    "publishing_interval_ms": 100,
                    "timeout_s": 10,
                    "nodes": [
                        {
                            "metric": f"b{i}",
                            "node_id": f"ns=2;s=Bank.{i}",
                            "sampling_interval_ms": period * 1000,
                        }
                        for i in range(nodes)
                    ],
                }
            ],
        }
    )


async def _measure(
    tmp: Path, mqtt: str, nodes: int, period: float, seconds: float
) -> dict[str, object]:
    port = _free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "helan.sim.plc.opcua", str(port), str(nodes), str(period)
    )
    try:
        await asyncio.to_thread(_wait_port, port, 30.0)
        platform = BenchPlatform(tmp, mqtt, "bench", {"bench-ua": [f"b{i}" for i in range(nodes)]})
        await platform.start()
        gateway = Gateway(_config(tmp, port, mqtt, nodes, period))
        proc = psutil.Process()
        await gateway.start()
        deadline = time.monotonic() + 30
        while platform.accepted() < nodes and time.monotonic() < deadline:  # noqa: ASYNC110 - polls a counter
            await asyncio.sleep(0.2)  # connected, subscribed, first values through
        await asyncio.sleep(1.0)
        a0, n0 = platform.accepted(), gateway.adapters[0].notifications  # type: ignore[attr-defined]
        t0, c0 = time.perf_counter(), proc.cpu_times()
        await asyncio.sleep(seconds)
        a1, n1 = platform.accepted(), gateway.adapters[0].notifications  # type: ignore[attr-defined]
        t1, c1 = time.perf_counter(), proc.cpu_times()
        await gateway.stop()
        await platform.stop()
        platform.close()
    finally:
        server.terminate()
        await server.wait()
    elapsed = t1 - t0
    return {
        "points_per_s": round((a1 - a0) / elapsed, 1),
        "notifications_per_s": round((n1 - n0) / elapsed, 1),
        "offered_per_s": round(nodes / period, 1),
        "process_cpu_cores": round((c1.user - c0.user + c1.system - c0.system) / elapsed, 2),
        "nodes": nodes,
        "period_s": period,
        "seconds": seconds,
    }


def run(
    seconds: Annotated[float, typer.Option(help="Measured seconds.")] = 30.0,
    nodes: Annotated[int, typer.Option(help="Double variables the server changes.")] = 2000,
    period: Annotated[float, typer.Option(help="Seconds between changes of every node.")] = 0.1,
    mqtt: Annotated[str, typer.Option(help="Broker URL.")] = "mqtt://127.0.0.1:1883",
) -> None:
    """Simulated OPC UA server -> gateway -> MQTT -> platform store; target 20,000 points/s."""
    with tempfile.TemporaryDirectory(prefix="helan-bench-edge-ua-") as tmp:
        figures = asyncio.run(_measure(Path(tmp), mqtt, nodes, period, seconds))
    notes = {
        "points_per_s": "written durably into the platform's store (DuckDB)",
        "notifications_per_s": "data changes the gateway received from the server",
        "offered_per_s": "changes the server makes (nodes / period)",
        "process_cpu_cores": "gateway + platform ingest; the server runs in another process",
    }
    report(f"edge-opcua: {nodes} nodes changing every {period:g} s", figures, notes)
