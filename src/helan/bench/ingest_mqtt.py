"""``helan bench ingest-mqtt``: devices → the machine's Mosquitto (QoS 1) → MqttIngest (ack after
commit) → durable DuckDB store, against a bare decode-only subscriber on the same load."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import tempfile
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from helan.bench.mqtt_load import METRICS, publish_load
from helan.bench.report import report
from helan.config import Settings
from helan.connect.mqtt.subscriber import RECEIVE_MAXIMUM, SCALE_OUT_CONNECTIONS

DEVICES = 100
# Publisher lead over the consumer beyond its in-flight window (Receive Maximum): under
# Mosquitto's default max_queued_messages (1000), above which it drops messages for a
# subscriber that lags, while it has already PUBACKed them to the publisher.
QUEUE_MARGIN = 500


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class _Load:
    """The publisher process plus the shared counters of its flow control."""

    def __init__(
        self, url: str, tenant: str, seconds: float, connections: int, window: int
    ) -> None:
        host, port = url.split("://", 1)[1].rsplit(":", 1)
        ctx = mp.get_context("spawn")
        self.consumed = ctx.Value("q", 0, lock=False)
        self.published = ctx.Value("q", 0, lock=False)
        self.proc = ctx.Process(
            target=publish_load,
            args=(host, int(port), tenant, DEVICES, seconds, connections, window,
                  self.consumed, self.published, _now_ms() - 3_600_000),
            daemon=True,
        )  # fmt: skip

    def start(self) -> None:
        self.proc.start()

    def join(self) -> int:
        self.proc.join()
        return int(self.published.value)


async def _helan(
    url: str, seconds: float, connections: int, inflight: int, ingest_connections: int
) -> dict[str, Any]:
    from helan.connect.mqtt.subscriber import MqttIngest
    from helan.ingest.live import LiveState
    from helan.ingest.pipeline import IngestPipeline
    from helan.ingest.static_directory import StaticDirectory
    from helan.storage.telemetry import open_store

    tenant = f"b{uuid.uuid4().hex[:10]}"
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        store = open_store(settings)
        live = LiveState(offline_after_s=60)
        pipeline = IngestPipeline(store, live, settings)
        directory = StaticDirectory.from_records(
            {"tenant": tenant, "device": f"dev-{d}", "metrics": [{"name": m} for m in METRICS]}
            for d in range(DEVICES)
        )
        ingest = MqttIngest(url, pipeline, directory, live, settings,
                            client_id=f"bench-{tenant}", tenants=[tenant],
                            receive_maximum=inflight,
                            connections=ingest_connections)  # fmt: skip
        await pipeline.start()
        await ingest.start()
        # Half of the broker's in-flight capacity: the other half covers PUBACKs the ingest has
        # written and Mosquitto has not read yet (docs/ingest.md, "Flow control").
        load = _Load(url, tenant, seconds, connections, ingest.connections * inflight // 2)
        started = time.perf_counter()
        load.start()
        metrics = len(METRICS)
        while load.proc.is_alive():
            load.consumed.value = ingest.acknowledged
            await asyncio.sleep(0.02)
        published = load.join()
        deadline = time.perf_counter() + 60
        while pipeline.counters.points_written < published * metrics:
            if time.perf_counter() > deadline:
                break
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - started
        await ingest.stop()
        await pipeline.stop()
        await ingest.forget_sessions()
        stored = store.stats().points
        store.close()
    return {
        "published": published * metrics,
        "stored": stored,
        "elapsed": elapsed,
        "messages": published,
        "write_ms_p99": pipeline.counters.snapshot(tenant)["writer"]["write_ms_p99"],  # type: ignore[index]
    }


async def _bare_gmqtt(url: str, seconds: float, connections: int) -> float:
    """Messages/s a gmqtt subscriber only decodes (optimistic acks): the client's ceiling."""
    from gmqtt import Client

    tenant = f"g{uuid.uuid4().hex[:10]}"
    host, port = url.split("://", 1)[1].rsplit(":", 1)
    count = 0

    def on_message(client: Any, topic: str, payload: bytes, qos: int, props: Any) -> int:
        nonlocal count
        orjson.loads(payload)
        count += 1
        return 0

    client = Client(f"bare-{tenant}", receive_maximum=65535)
    client.on_message = on_message
    await client.connect(host, int(port))
    client.subscribe(f"helan/v1/{tenant}/+/telemetry", qos=1)
    await asyncio.sleep(0.2)
    load = _Load(url, tenant, seconds, connections, QUEUE_MARGIN)
    started = time.perf_counter()
    load.start()
    while load.proc.is_alive():
        load.consumed.value = count
        await asyncio.sleep(0.02)
    published = load.join()
    deadline = time.perf_counter() + 30
    while count < published and time.perf_counter() < deadline:  # noqa: ASYNC110 - polls a counter
        await asyncio.sleep(0.02)
    elapsed = time.perf_counter() - started
    await client.disconnect()
    return count / elapsed


def _bare_paho(url: str, seconds: float, connections: int) -> float:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    tenant = f"p{uuid.uuid4().hex[:10]}"
    host, port = url.split("://", 1)[1].rsplit(":", 1)
    count = 0

    def on_message(client: Any, userdata: Any, message: Any) -> None:
        nonlocal count
        orjson.loads(message.payload)
        count += 1

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bare-{tenant}",
                         protocol=mqtt.MQTTv5)  # fmt: skip
    client.on_message = on_message
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho is untyped here
    props.ReceiveMaximum = 65535
    client.connect(host, int(port), properties=props)
    client.subscribe(f"helan/v1/{tenant}/+/telemetry", qos=1)
    client.loop_start()
    time.sleep(0.2)
    load = _Load(url, tenant, seconds, connections, QUEUE_MARGIN)
    started = time.perf_counter()
    load.start()
    while load.proc.is_alive():
        load.consumed.value = count
        time.sleep(0.02)
    published = load.join()
    deadline = time.perf_counter() + 30
    while count < published and time.perf_counter() < deadline:
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return count / elapsed


def run(
    seconds: Annotated[float, typer.Option(help="Sustained publishing time.")] = 60.0,
    mqtt: Annotated[str, typer.Option(help="Broker URL.")] = "mqtt://127.0.0.1:1883",
    connections: Annotated[int, typer.Option(help="Publisher connections.")] = 4,
    inflight: Annotated[int, typer.Option(help="Ingest Receive Maximum.")] = RECEIVE_MAXIMUM,
    ingest_connections: Annotated[
        int, typer.Option(help="Ingest connections (one shared subscription).")
    ] = SCALE_OUT_CONNECTIONS,
    baseline_seconds: Annotated[float, typer.Option(help="Time per bare-client run.")] = 10.0,
) -> None:
    """Sustained MQTT ingest into the durable store; lost must be 0."""
    import uvloop

    metrics = len(METRICS)
    helan = uvloop.run(_helan(mqtt, seconds, connections, inflight, ingest_connections))
    gmqtt_rate = uvloop.run(_bare_gmqtt(mqtt, baseline_seconds, connections)) * metrics
    paho_rate = _bare_paho(mqtt, baseline_seconds, connections) * metrics
    baseline = max(gmqtt_rate, paho_rate)
    points_per_s = helan["stored"] / helan["elapsed"]
    report(
        "MQTT ingest (QoS 1, ack after commit, DuckDB)",
        {
            "points_per_s": round(points_per_s),
            "messages_per_s": round(helan["messages"] / helan["elapsed"]),
            "published": helan["published"],
            "stored": helan["stored"],
            "lost": helan["published"] - helan["stored"],
            "seconds": round(helan["elapsed"], 2),
            "write_ms_p99": helan["write_ms_p99"],
            "baseline_points_per_s": round(baseline),
            "baseline_gmqtt_points_per_s": round(gmqtt_rate),
            "baseline_paho_points_per_s": round(paho_rate),
            "baseline_ratio": round(points_per_s / baseline, 3) if baseline else 0.0,
        },
        notes={
            "points_per_s": "target >= 250,000 on 2 cores shared with broker and publisher",
            "lost": "published (broker-acked) minus stored distinct points; must be 0",
            "baseline_points_per_s": "bare subscriber that only decodes (fastest client)",
        },
    )
