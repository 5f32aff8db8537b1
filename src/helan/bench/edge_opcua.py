"""``helan bench edge-opcua``: points/s from a simulated OPC UA server through the gateway
(subscription data changes, SQLite buffer, QoS 1) into the platform's store.

Two phases in one run, each with its own server process, platform store and gateway:

1. **array tags** (``points_per_s``): the server changes ``arrays`` Double[``length``] variables
   every ``period`` (PLC data blocks of REALs); the gateway maps every element to a metric, so one
   notification carries ``length`` points. This is the figure the 20,000 points/s target is
   measured with; the defaults (100 x 100 every 0.1 s) offer 100,000 points/s, so that the
   figure shows what the gateway and ingest carry rather than the target itself.
2. **scalar tags** (``scalar_*``): ``scalar-nodes`` Double variables, one notification per point.
   Here the pure-Python asyncua server (and the client's per-notification decoding) is the limit,
   not the gateway's pipeline.

The gateway shares this process with the platform's MQTT ingest and DuckDB store;
``process_cpu_cores`` is both together, ``server_cpu_cores`` the simulated PLC's process.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import psutil
import typer

from helan.bench.edge_modbus import _free_port, _wait_port
from helan.bench.edge_platform import BenchPlatform
from helan.edge.config import EdgeConfig
from helan.edge.gateway import Gateway
from helan.observe.report import report

DEVICE = "bench-ua"


@dataclass(frozen=True)
class Phase:
    """One server shape: ``arrays`` > 0 measures array tags, else ``scalars`` scalar tags."""

    scalars: int
    arrays: int
    length: int
    period: float
    seconds: float

    def nodes(self) -> list[dict[str, object]]:
        sampling = self.period * 1000
        if self.arrays:
            return [
                {
                    "node_id": f"ns=2;s=ArrayBank.{i}",
                    "elements": [f"a{i}_{j}" for j in range(self.length)],
                    "sampling_interval_ms": sampling,
                }
                for i in range(self.arrays)
            ]
        return [
            {"metric": f"b{i}", "node_id": f"ns=2;s=Bank.{i}", "sampling_interval_ms": sampling}
            for i in range(self.scalars)
        ]

    def metrics(self) -> list[str]:
        return [m for n in self.nodes() for m in _names(n)]

    def server_args(self, port: int) -> list[str]:
        args = [str(port), str(self.scalars), str(self.period)]
        if self.arrays:
            args += ["--arrays", str(self.arrays), "--array-length", str(self.length)]
        return args


def _names(node: dict[str, object]) -> list[str]:
    elements = node.get("elements")
    return list(elements) if isinstance(elements, list) else [str(node["metric"])]


def _config(tmp: Path, port: int, mqtt: str, phase: Phase) -> EdgeConfig:
    return EdgeConfig.model_validate(
        {
            "uplink": {"url": mqtt, "tenant": "bench", "client_id": f"bench-edge-ua-{port}"},
            "buffer": {"path": tmp / "buffer.sqlite3", "max_bytes": 1 << 30},
            "opcua": [
                {
                    "name": "ua-plc",
                    "endpoint": f"opc.tcp://127.0.0.1:{port}/helan/",
                    "device": DEVICE,
                    "publishing_interval_ms": 100,
                    "timeout_s": 10,
                    "nodes": phase.nodes(),
                }
            ],
        }
    )


async def _measure(tmp: Path, mqtt: str, phase: Phase) -> dict[str, float | int]:
    port = _free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "helan.sim.plc.opcua", *phase.server_args(port)
    )
    try:
        await asyncio.to_thread(_wait_port, port, 30.0)
        metrics = phase.metrics()
        platform = BenchPlatform(tmp, mqtt, "bench", {DEVICE: metrics})
        await platform.start()
        gateway = Gateway(_config(tmp, port, mqtt, phase))
        adapter = gateway.adapters[0]
        proc, sproc = psutil.Process(), psutil.Process(server.pid)
        await gateway.start()
        deadline = time.monotonic() + 60
        while platform.accepted() < len(metrics) and time.monotonic() < deadline:  # noqa: ASYNC110 - polls a counter
            await asyncio.sleep(0.2)  # connected, subscribed, first values through
        if platform.accepted() < len(metrics):
            raise RuntimeError(
                f"only {platform.accepted()} of {len(metrics)} first values were stored "
                f"within 60 s (gateway health: {gateway.health()['connections']})"
            )
        await asyncio.sleep(1.0)
        a0, n0 = platform.accepted(), adapter.notifications  # type: ignore[attr-defined]
        p0, c0, s0 = gateway.forwarder.points_sent, proc.cpu_times(), sproc.cpu_times()
        r0 = gateway.buffer.stats()["appended"]
        t0 = time.perf_counter()
        await asyncio.sleep(phase.seconds)
        a1, n1 = platform.accepted(), adapter.notifications  # type: ignore[attr-defined]
        p1, c1, s1 = gateway.forwarder.points_sent, proc.cpu_times(), sproc.cpu_times()
        r1 = gateway.buffer.stats()["appended"]
        t1 = time.perf_counter()
        health = gateway.health()
        await gateway.stop()
        await platform.stop()
        platform.close()
    finally:
        server.terminate()
        await server.wait()
    elapsed = t1 - t0
    stored = (a1 - a0) / elapsed
    cpu = (c1.user - c0.user + c1.system - c0.system) / elapsed
    buffer = health["buffer"]
    assert isinstance(buffer, dict)
    per_notification = phase.length if phase.arrays else 1
    return {
        "points_per_s": round(stored, 1),
        "broker_points_per_s": round((p1 - p0) / elapsed, 1),
        "gateway_points_per_s": round((n1 - n0) * per_notification / elapsed, 1),
        "notifications_per_s": round((n1 - n0) / elapsed, 1),
        "sample_sets_per_s": round((r1 - r0) / elapsed, 1),
        "offered_per_s": round(len(metrics) / phase.period, 1),
        "process_cpu_cores": round(cpu, 2),
        "process_cpu_us_per_point": round(cpu / stored * 1e6, 2) if stored else 0.0,
        "server_cpu_cores": round((s1.user - s0.user + s1.system - s0.system) / elapsed, 2),
        "buffer_rows_left": buffer["rows"],
        "dropped": buffer["dropped_full"] + buffer["dropped_age"],
    }


def run(
    seconds: Annotated[float, typer.Option(help="Measured seconds, array phase.", min=1)] = 20.0,
    arrays: Annotated[int, typer.Option(help="Double arrays the server changes.", min=1)] = 100,
    length: Annotated[int, typer.Option(help="Elements per array (points).", min=1)] = 100,
    period: Annotated[
        float, typer.Option(help="Seconds between changes of every array.", min=0.01)
    ] = 0.1,
    scalar_nodes: Annotated[
        int, typer.Option(help="Scalar Double variables, second phase (0: skip it).", min=0)
    ] = 2000,
    scalar_period: Annotated[
        float, typer.Option(help="Seconds between scalar changes.", min=0.01)
    ] = 0.1,
    scalar_seconds: Annotated[
        float, typer.Option(help="Measured seconds, scalar phase.", min=1)
    ] = 10.0,
    mqtt: Annotated[str, typer.Option(help="Broker URL.")] = "mqtt://127.0.0.1:1883",
) -> None:
    """Simulated OPC UA server -> gateway -> MQTT -> platform store; target 20,000 points/s
    (array tags), with scalar tags measured in the same run."""
    array_phase = Phase(0, arrays, length, period, seconds)
    scalar_phase = Phase(scalar_nodes, 0, 1, scalar_period, scalar_seconds)
    with tempfile.TemporaryDirectory(prefix="helan-bench-edge-ua-") as tmp:
        (Path(tmp) / "arrays").mkdir()
        (Path(tmp) / "scalars").mkdir()
        got = asyncio.run(_measure(Path(tmp) / "arrays", mqtt, array_phase))
        scalar = (
            asyncio.run(_measure(Path(tmp) / "scalars", mqtt, scalar_phase)) if scalar_nodes else {}
        )
    figures: dict[str, object] = {
        **got,
        "arrays": arrays,
        "array_length": length,
        "period_s": period,
        "seconds": seconds,
    }
    figures.update({f"scalar_{k}": v for k, v in scalar.items()})
    if scalar:
        figures.update(
            {
                "scalar_nodes": scalar_nodes,
                "scalar_period_s": scalar_period,
                "scalar_seconds": scalar_seconds,
            }
        )
    figures["load_avg_1m"] = round(os.getloadavg()[0], 2)
    notes = {
        "points_per_s": "array tags: points written durably into the platform's store (DuckDB)",
        "broker_points_per_s": "acknowledged by the broker (QoS 1), after the SQLite buffer",
        "gateway_points_per_s": "array elements the gateway received (notifications x length)",
        "notifications_per_s": "data changes (whole arrays) the gateway received",
        "sample_sets_per_s": "buffer rows: one per device and source timestamp (PLC cycle)",
        "offered_per_s": "points the server changes (arrays x length / period)",
        "process_cpu_cores": "gateway + platform ingest; the server runs in another process",
        "process_cpu_us_per_point": "gateway + ingest CPU per stored point",
        "server_cpu_cores": "the simulated PLC (asyncua server)",
        "scalar_points_per_s": "scalar tags: one notification per point, stored",
        "scalar_notifications_per_s": "scalar data changes the gateway received",
        "scalar_offered_per_s": "changes the server is asked for (nodes / period)",
        "scalar_server_cpu_cores": "the asyncua server, the scalar path's limit",
    }
    title = f"edge-opcua: {arrays} arrays x {length} every {period:g} s" + (
        f"; {scalar_nodes} scalar nodes every {scalar_period:g} s" if scalar else ""
    )
    report(title, figures, notes)
