"""``helan bench ingest-mqtt``: devices → a broker (QoS 1) → MqttIngest (ack after commit) →
durable DuckDB store, against a bare decode-only subscriber on the same broker and load.

The broker is the machine's Mosquitto (``--mqtt``) or, with ``--broker embedded``, the
platform's own embedded nats-server, started here with its device auth: the load publishes
with one credential that is the gateway of every bench device, the subscribers with the
ingest service's secret, all in MQTT 3.1.1."""

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
from helan.config import Settings
from helan.connect.mqtt.service import broker_address
from helan.connect.mqtt.subscriber import RECEIVE_MAXIMUM, SCALE_OUT_CONNECTIONS
from helan.connect.nats.server import MQTT_MAX_ACK_PENDING
from helan.ingest.static_directory import StaticDirectory
from helan.observe.report import report

DEVICES = 100
# Publisher lead over the consumer beyond its in-flight window (Receive Maximum): under
# Mosquitto's default max_queued_messages (1000), above which it drops messages for a
# subscriber that lags, while it has already PUBACKed them to the publisher.
QUEUE_MARGIN = 500
PUBLISHER = "publisher"  # the load's one credential: the gateway of every bench device


class _BenchDirectory(StaticDirectory):
    """The bench devices of a few tenants, each tenant's ``publisher`` their gateway."""

    @classmethod
    def of(cls, tenants: list[str]) -> _BenchDirectory:
        metrics = [{"name": m} for m in METRICS]
        devices: list[dict[str, Any]] = [
            {"tenant": t, "device": f"dev-{d}", "metrics": metrics, "gateway": PUBLISHER}
            for t in tenants
            for d in range(DEVICES)
        ]
        publishers: list[dict[str, Any]] = [
            {"tenant": t, "device": PUBLISHER, "username": f"{PUBLISHER}@{t}", "secret": t}
            for t in tenants
        ]
        directory = cls.from_records(devices + publishers)
        assert isinstance(directory, cls)
        return directory

    def children(self, tenant: str, gateway: str) -> frozenset[str]:
        if gateway != PUBLISHER:
            return frozenset()
        return frozenset(f"dev-{d}" for d in range(DEVICES))


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class _Load:
    """The publisher process plus the shared counters of its flow control."""

    def __init__(
        self,
        url: str,
        tenant: str,
        seconds: float,
        connections: int,
        window: int,
        credential: tuple[str, str] | None,
    ) -> None:
        address = broker_address(url)
        ctx = mp.get_context("spawn")
        self.consumed = ctx.Value("q", 0, lock=False)
        self.published = ctx.Value("q", 0, lock=False)
        self.proc = ctx.Process(
            target=publish_load,
            args=(address.host, address.port, tenant, DEVICES, seconds, connections, window,
                  self.consumed, self.published, _now_ms() - 3_600_000, credential),
            daemon=True,
        )  # fmt: skip

    def start(self) -> None:
        self.proc.start()

    def join(self) -> int:
        self.proc.join()
        return int(self.published.value)


class _Bench:
    """One broker and what the runs on it share: its URL, the tenant of each run, the
    directory of their devices, and the publisher's credential (embedded broker only)."""

    def __init__(self, url: str, embedded: bool) -> None:
        self.url = url
        self.embedded = embedded
        self.tenants = {k: f"{k}{uuid.uuid4().hex[:10]}" for k in ("b", "g", "p")}
        self.directory = _BenchDirectory.of(list(self.tenants.values()))

    def credential(self, tenant: str) -> tuple[str, str] | None:
        return (f"{PUBLISHER}@{tenant}", tenant) if self.embedded else None

    def load(self, tenant: str, seconds: float, connections: int, window: int) -> _Load:
        return _Load(self.url, tenant, seconds, connections, window, self.credential(tenant))


async def _helan(
    bench: _Bench, seconds: float, connections: int, inflight: int, ingest_connections: int
) -> dict[str, Any]:
    from helan.connect.mqtt.subscriber import MqttIngest
    from helan.ingest.live import LiveState
    from helan.ingest.pipeline import IngestPipeline
    from helan.storage.telemetry import open_store

    tenant = bench.tenants["b"]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        store = open_store(settings)
        live = LiveState(offline_after_s=60)
        pipeline = IngestPipeline(store, live, settings)
        ingest = MqttIngest(bench.url, pipeline, bench.directory, live, settings,
                            client_id=f"bench-{tenant}", tenants=[tenant],
                            receive_maximum=inflight,
                            connections=ingest_connections)  # fmt: skip
        await pipeline.start()
        await ingest.start()
        # Half of the broker's in-flight capacity: the other half covers PUBACKs the ingest has
        # written and the broker has not read yet (docs/ingest.md, "Flow control").
        window = ingest.connections * inflight // 2
        if bench.embedded:  # NATS's own limit per subscription (connect/nats/server.py)
            window = min(window, MQTT_MAX_ACK_PENDING // 2)
        load = bench.load(tenant, seconds, connections, window)
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


async def _bare_gmqtt(bench: _Bench, seconds: float, connections: int) -> float:
    """Messages/s a gmqtt subscriber only decodes (optimistic acks): the client's ceiling."""
    from gmqtt import Client

    tenant = bench.tenants["g"]
    address = broker_address(bench.url)
    count = 0

    def on_message(client: Any, topic: str, payload: bytes, qos: int, props: Any) -> int:
        nonlocal count
        orjson.loads(payload)
        count += 1
        return 0

    client = Client(f"bare-{tenant}", receive_maximum=65535)
    client.set_auth_credentials(address.username, address.password)
    client.on_message = on_message
    await client.connect(address.host, address.port, version=address.protocol)
    client.subscribe(f"helan/v1/{tenant}/+/telemetry", qos=1)
    await asyncio.sleep(0.2)
    load = bench.load(tenant, seconds, connections, QUEUE_MARGIN)
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


def _bare_paho(bench: _Bench, seconds: float, connections: int) -> float:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    tenant = bench.tenants["p"]
    address = broker_address(bench.url)
    count = 0

    def on_message(client: Any, userdata: Any, message: Any) -> None:
        nonlocal count
        orjson.loads(message.payload)
        count += 1

    v5 = address.protocol == mqtt.MQTTv5
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bare-{tenant}",
                         protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311)  # fmt: skip
    client.username_pw_set(address.username, address.password)
    client.on_message = on_message
    props = None
    if v5:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho is untyped here
        props.ReceiveMaximum = 65535
    client.connect(address.host, address.port, properties=props)
    client.subscribe(f"helan/v1/{tenant}/+/telemetry", qos=1)
    client.loop_start()
    time.sleep(0.2)
    load = bench.load(tenant, seconds, connections, QUEUE_MARGIN)
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


async def _all(
    mqtt: str, broker: str, seconds: float, baseline_seconds: float, connections: int,
    inflight: int, ingest_connections: int,
) -> tuple[dict[str, Any], float, float]:  # fmt: skip
    """The ingest run and both baselines on one broker (the embedded one started for them)."""
    from helan.connect.mqtt.broker import EmbeddedBroker
    from helan.connect.nats.server import free_port

    embedded: EmbeddedBroker | None = None
    with tempfile.TemporaryDirectory() as tmp:
        if broker == "embedded":
            bench = _Bench("", embedded=True)
            embedded = EmbeddedBroker(free_port("127.0.0.1"), bench.directory, data_dir=Path(tmp))
            await embedded.start()
            bench.url = f"mqtt://127.0.0.1:{embedded.port}"
        else:
            bench = _Bench(mqtt, embedded=False)
        try:
            helan = await _helan(bench, seconds, connections, inflight, ingest_connections)
            gmqtt_rate = await _bare_gmqtt(bench, baseline_seconds, connections)
            paho_rate = await asyncio.to_thread(_bare_paho, bench, baseline_seconds, connections)
        finally:
            if embedded is not None:
                await embedded.stop()
    return helan, gmqtt_rate, paho_rate


def run(
    seconds: Annotated[float, typer.Option(help="Sustained publishing time.")] = 60.0,
    mqtt: Annotated[str, typer.Option(help="Broker URL (with --broker url).")] = (
        "mqtt://127.0.0.1:1883"
    ),
    broker: Annotated[
        str, typer.Option(help="url: the broker at --mqtt; embedded: the platform's nats-server.")
    ] = "url",
    connections: Annotated[int, typer.Option(help="Publisher connections.")] = 4,
    inflight: Annotated[int, typer.Option(help="Ingest Receive Maximum.")] = RECEIVE_MAXIMUM,
    ingest_connections: Annotated[
        int, typer.Option(help="Ingest connections (one shared subscription).")
    ] = SCALE_OUT_CONNECTIONS,
    baseline_seconds: Annotated[float, typer.Option(help="Time per bare-client run.")] = 10.0,
) -> None:
    """Sustained MQTT ingest into the durable store; lost must be 0."""
    import uvloop

    if broker not in ("url", "embedded"):
        raise typer.BadParameter("--broker is url or embedded")
    metrics = len(METRICS)
    helan, gmqtt_msgs, paho_msgs = uvloop.run(
        _all(mqtt, broker, seconds, baseline_seconds, connections, inflight, ingest_connections)
    )
    gmqtt_rate, paho_rate = gmqtt_msgs * metrics, paho_msgs * metrics
    baseline = max(gmqtt_rate, paho_rate)
    points_per_s = helan["stored"] / helan["elapsed"]
    report(
        "MQTT ingest (QoS 1, ack after commit, DuckDB)"
        + (" on the embedded nats-server" if broker == "embedded" else ""),
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
