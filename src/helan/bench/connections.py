"""``helan bench connections``: many devices connected at once, each publishing every second.

The devices (the simulated factory, one MQTT connection each) run in a child process; the
platform's ingest (MqttIngest → IngestPipeline → DuckDB) runs in this one, so the two share the
machine's cores like two services would. Devices connect anonymously: the machine's Mosquitto
allows it, and provisioning 10,000 credentials is not what this measures.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import tempfile
import time
import uuid
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Annotated, Any

import typer

from helan.config import Settings
from helan.connect.mqtt.subscriber import SCALE_OUT_CONNECTIONS
from helan.core.thing import DeviceRef, MetricSpec
from helan.observe.report import report

DEFAULT_MQTT = "mqtt://127.0.0.1:1883"
SETTLE_S = 15.0  # give up waiting for the store after this long without progress


@dataclass(frozen=True, slots=True)
class _StaticDirectory:
    """The bench's devices and their thing models, in memory (``DeviceDirectory`` protocol)."""

    refs: dict[tuple[str, str], DeviceRef]

    def lookup(self, tenant: str, device: str) -> DeviceRef | None:
        return self.refs.get((tenant, device))

    def authenticate(self, username: str, password: str) -> DeviceRef | None:
        return None  # anonymous devices; the external broker does the admitting


def _directory(tenant: str, devices: int) -> _StaticDirectory:
    from helan.sim.metrics import KIND_DEFS
    from helan.sim.plan import FactoryPlan, layout

    refs = {}
    for spec in layout(FactoryPlan(tenant=tenant, devices=devices)):
        kind = KIND_DEFS[spec.kind]
        metrics = {
            m.name: MetricSpec(name=m.name, type=m.type, unit=m.unit, min=m.min, max=m.max)
            for m in kind.metrics
        }
        refs[(tenant, spec.device_id)] = DeviceRef(
            tenant=tenant, device=spec.device_id, device_type=kind.device_type, metrics=metrics
        )
    return _StaticDirectory(refs)


def _publisher(
    tenant: str,
    devices: int,
    part: int,
    parts: int,
    seconds: float,
    mqtt_url: str,
    out: Connection,
    go: Connection,
) -> None:
    """Child process: connect its share of the devices, report, wait for the word, publish for
    ``seconds``, drain, report."""
    import uvloop

    from helan.sim.plan import FactoryPlan, anonymous_devices
    from helan.sim.runner import Factory

    async def main() -> None:
        sims = anonymous_devices(FactoryPlan(tenant=tenant, devices=devices))[part::parts]
        factory = Factory(sims, mqtt_url, client_prefix=f"bench-{uuid.uuid4().hex[:6]}")
        t0 = time.perf_counter()
        await factory.connect_all()
        out.send(("connected", factory.online(), time.perf_counter() - t0))
        await asyncio.get_running_loop().run_in_executor(None, go.recv)
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(seconds, stop.set)
        started = time.perf_counter()
        run = asyncio.create_task(factory.run(stop))
        lowest = factory.online()
        while not run.done():
            await asyncio.sleep(1.0)
            lowest = min(lowest, factory.online())
        await run
        ran_s = time.perf_counter() - started
        await factory.drain()
        await factory.disconnect_all()
        out.send(("done", {**factory.stats.as_dict(), "online_min": lowest, "ran_s": ran_s}))

    uvloop.run(main())


async def _receive(conn: Connection, proc: BaseProcess) -> tuple[Any, ...]:
    """The child's next report; an error (not a hang) if the child died."""
    loop = asyncio.get_running_loop()
    while not await loop.run_in_executor(None, conn.poll, 1.0):
        if not proc.is_alive():
            raise RuntimeError(f"the device process died (exit code {proc.exitcode})")
    message: tuple[Any, ...] = conn.recv()
    return message


async def _measure(
    devices: int,
    seconds: float,
    mqtt_url: str,
    data_dir: Path,
    processes: int,
    ingest_connections: int,
) -> tuple[dict[str, object], dict[str, str]]:
    from helan.connect.mqtt.subscriber import MqttIngest
    from helan.ingest.live import LiveState
    from helan.ingest.pipeline import IngestPipeline
    from helan.storage.telemetry import open_store

    tenant = f"bench-{uuid.uuid4().hex[:8]}"
    settings = Settings(data_dir=data_dir, mqtt_url=mqtt_url)
    store = open_store(settings)
    live = LiveState(offline_after_s=settings.device_offline_after_s)
    pipeline = IngestPipeline(store, live, settings)
    client_id = f"helan-bench-ingest-{tenant}"
    ingest = MqttIngest(
        mqtt_url,
        pipeline,
        _directory(tenant, devices),
        live,
        settings,
        client_id=client_id,
        tenants=(tenant,),
        connections=ingest_connections,
    )
    await pipeline.start()
    await ingest.start()

    ctx = mp.get_context("spawn")
    children = []
    for part in range(processes):
        report_r, report_w = ctx.Pipe(duplex=False)
        go_r, go_w = ctx.Pipe(duplex=False)
        args = (tenant, devices, part, processes, seconds, mqtt_url, report_w, go_r)
        proc = ctx.Process(target=_publisher, args=args, daemon=True)
        proc.start()
        children.append((proc, report_r, go_w))
    try:
        connected = [await _receive(r, proc) for proc, r, _ in children]
        online_after_connect = sum(int(c[1]) for c in connected)
        connect_s = max(float(c[2]) for c in connected)
        for _, _, go in children:
            go.send("go")
        reports = [(await _receive(r, proc))[1] for proc, r, _ in children]
        sim = {k: sum(int(r[k]) for r in reports) for k in reports[0] if k != "ran_s"}
        ran_s = max(float(r["ran_s"]) for r in reports)
        loop = asyncio.get_running_loop()
        for proc, _, _ in children:
            await loop.run_in_executor(None, proc.join, 30)
        # The ingest may lag behind the devices: wait while the store still grows. (stats()
        # may compact, so it runs off the loop that the ingest needs.)
        devices_done = time.monotonic()
        stored, progress_at = (await asyncio.to_thread(store.stats)).points, devices_done
        while stored < sim["acked_points"] and time.monotonic() - progress_at < SETTLE_S:
            await asyncio.sleep(0.5)
            now = (await asyncio.to_thread(store.stats)).points
            if now > stored:
                stored, progress_at = now, time.monotonic()
        catch_up_s = time.monotonic() - devices_done
        await asyncio.sleep(1.0)  # a late duplicate would show as stored > published
    finally:
        for proc, _, _ in children:
            if proc.is_alive():
                proc.kill()
        await ingest.stop()
        await pipeline.stop()
        await ingest.forget_sessions()
    stored = store.stats().points
    live_online = sum(1 for d in live.devices(tenant).values() if d.last_seen_ms is not None)
    store.close()
    published = int(sim["acked_points"])
    figures: dict[str, object] = {
        "devices": devices,
        "online": min(int(online_after_connect), int(sim["online_min"])),
        "seen_by_ingest": live_online,
        "connect_s": round(float(connect_s), 2),
        "seconds": round(ran_s, 1),
        "messages": int(sim["acked"]),
        "messages_per_s": round(int(sim["acked"]) / ran_s, 1),
        "published": published,
        "stored": stored,
        "lost": published - stored,
        "catch_up_s": round(catch_up_s, 1),
        "skipped": int(sim["skipped"]),
        "backpressured": int(sim["backpressured"]),
        "late_ticks": int(sim["late_ticks"]),
        "processes": processes,
        "ingest_connections": ingest_connections,
    }
    notes = {
        "online": "lowest number connected at once, sampled every second",
        "seconds": "how long the devices published (the device processes' own clock)",
        "seen_by_ingest": "devices whose data reached the platform's live state",
        "published": "points in messages the broker acknowledged (QoS 1)",
        "stored": "points in the DuckDB store afterwards",
        "lost": "published - stored; must be 0",
        "catch_up_s": "after the devices stopped, until the store held what they published",
        "skipped": "readings not sent because a device was offline",
        "backpressured": "readings not sent: 20 earlier ones still awaited PUBACK",
        "late_ticks": "seconds a device process fell behind and skipped",
    }
    return figures, notes


def run(
    devices: Annotated[int, typer.Option(help="Devices connected at once.")] = 10_000,
    seconds: Annotated[
        float, typer.Option(help="How long every device publishes (1 message/s).")
    ] = 300.0,
    mqtt: Annotated[
        str, typer.Option(help="Broker URL (devices connect anonymously).")
    ] = DEFAULT_MQTT,
    processes: Annotated[
        int, typer.Option(min=1, max=16, help="Device processes (the devices are split).")
    ] = 2,
    ingest_connections: Annotated[
        int, typer.Option(min=1, help="Ingest connections (one shared subscription).")
    ] = SCALE_OUT_CONNECTIONS,
) -> None:
    """10,000 devices on the machine's Mosquitto, each publishing every second, into the ingest."""
    import uvloop

    with tempfile.TemporaryDirectory(prefix="helan-bench-conn-") as tmp:
        figures, notes = uvloop.run(
            _measure(devices, seconds, mqtt, Path(tmp), processes, ingest_connections)
        )
    report(f"connections: {devices:,} devices x {seconds:g} s", figures, notes)
    if figures["lost"] != 0 or figures["online"] != devices:
        raise typer.Exit(1)
