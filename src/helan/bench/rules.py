"""``helan bench rules``: what the rule engine costs the ingest, and how fast and how surely an
alarm reaches its webhook.

**Throughput** (one run, three phases of ``--seconds`` each, in this order): the ingest-mqtt
load (``--devices`` devices, 10 float metrics a message, QoS 1, ack after commit into DuckDB,
``--broker`` the machine's Mosquitto or the embedded nats-server) with 0, 1,000 and 10,000
enabled rules in the :class:`~helan.rules.engine.RuleEngine` on the committed-data stream,
alarms behind it (:class:`~helan.rules.alarms.AlarmService`, transactional outbox, SQLite
metadata). The rules are real: the bench's devices, device types (thing models with the load's
metrics) and rules are in the metadata store, rules saved through ``import_rules`` (checked
against the thing models) and loaded by :class:`~helan.rules.store.RuleSource`. The mix (by
rule number): 70 % thresholds, 12 % ranges, 8 % CEL expressions over two or three metrics,
8 % aggregates (60 s average or maximum), 2 % thresholds held ``for_s`` 30 s; every tenth rule
targets a device type (``--devices``/100 devices), the others one device; one rule in a hundred
fires on the load's values (an alarm raised once per device at the phase's start), the rest
stay normal. The publisher is closed-loop on the ingest's acknowledgements (bench/mqtt_load.py)
and the stream never waits for a subscriber, so the rules slow the ingest only by the CPU they
take; whether they kept up is read from the stream's own counters for the ``rules``
subscriber: items dropped, the largest lag sampled every 100 ms and the time the backlog took
to drain after the load stopped. A phase kept up when nothing was dropped and the lag stayed
within :data:`LAG_LIMIT_S`.

**Latency and delivery**: ``helan run`` (every role, embedded broker, SQLite and DuckDB in a
fresh data directory) in a child process, provisioned over its REST API with a device, a rule
(``pressure > 50``, notify raised and cleared on a webhook channel) and the webhook channel to a
receiver in this process that answers 500 to 30 % of requests at random and verifies every
signature. ``--alarms`` raise points (``pressure`` 100) alternate with clear points (0), sent
over the HTTP device endpoint (answered after the commit), ``--interval-ms`` apart; each raise
re-annunciates the alarm and is one notice. Halfway the child is SIGKILLed and a new one started
on the same data directory. Per raise: the commit time (``committed_ms`` of its outbox row, or
the HTTP answer's time for a point whose commit the killed child had no time to evaluate, since
the replay after restart does not know it) to the first 2xx the receiver gave for its key: p50
and p99. ``notifications_sent`` counts the distinct idempotency keys the receiver accepted,
``notifications_lost`` the raise and clear notices that never arrived within ``--wait-s`` after
the last point. The child retries after 50..500 ms and polls every 50 ms (settings
``notify_backoff_*``, ``notify_poll_s``; the defaults retry after 1 s) and holds a claim for 2 s
(``notify_lease_s``), so what the killed child had claimed is sent again soon.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from helan.bench.mqtt_load import METRICS, publish_load
from helan.bench.rules_latency import Latency, measure_latency
from helan.config import Settings
from helan.connect.mqtt.service import broker_address
from helan.connect.mqtt.subscriber import RECEIVE_MAXIMUM, SCALE_OUT_CONNECTIONS
from helan.connect.nats.server import MQTT_MAX_ACK_PENDING, free_port
from helan.ingest.static_directory import StaticDirectory
from helan.observe.report import report

TYPE_SIZE = 100  # devices per device type
LAG_LIMIT_S = 1.0  # the rules kept up when their backlog never got older than this
PUBLISHER = "publisher"  # the load's credential: the gateway of every bench device
IMPORT_CHUNK = 1000  # rules per import document (the store's MAX_IMPORT)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


# -- the rules ------------------------------------------------------------------------------


def rule_spec(i: int, devices: int) -> dict[str, Any]:
    """Rule number ``i`` of the bench's mix (module docstring); the load's metric ``m<k>``
    always carries ``20 + k / 2``."""
    k, a, b = i % 10, (i // 10) % 10, (i // 100 + 3) % 10
    types = max(1, devices // TYPE_SIZE)
    fires = i % 100 == 1
    target = (
        {"device_type": f"type-{(i // 10) % types:03d}"}
        if i % 10 == 0
        else {"device": f"dev-{(i * 7919) % devices}"}
    )
    kind = i % 50
    extra: dict[str, Any] = {}
    condition: dict[str, Any]
    if fires:
        condition = {"kind": "threshold", "metric": f"m{k}", "op": ">", "value": 0}
    elif kind < 35:
        op = ">" if i % 2 else "<"
        value = 100 + i % 37 if op == ">" else -(i % 29)
        condition = {"kind": "threshold", "metric": f"m{k}", "op": op, "value": value}
    elif kind < 41:
        condition = {"kind": "range", "metric": f"m{k}", "min": 0, "max": 80 + i % 11}
    elif kind < 45:
        expr = f"m{a} > m{b} + 50.0 || m{k} < -{1 + i % 9}.0"
        condition = {"kind": "expr", "expr": expr}
    elif kind < 49:
        fn = "avg" if i % 2 else "max"
        condition = {
            "kind": "aggregate",
            "metric": f"m{k}",
            "fn": fn,
            "window_s": 60,
            "op": ">",
            "value": 90 + i % 7,
        }
    else:
        condition = {"kind": "threshold", "metric": f"m{k}", "op": ">=", "value": 95}
        extra = {"for_s": 30, "clear_for_s": 10}
    severity = ("critical", "high", "medium", "low")[i % 4]
    return {
        "name": f"bench rule {i}",
        "target": target,
        "condition": condition,
        "severity": severity,
        "message": f"rule {i}: {{m{k}}}",
        **extra,
    }


class _Directory(StaticDirectory):
    """The bench devices of one tenant, its ``publisher`` their gateway (the ingest's view)."""

    names: frozenset[str] = frozenset()

    @classmethod
    def of(cls, tenant: str, devices: int) -> _Directory:
        types = max(1, devices // TYPE_SIZE)
        metrics = [{"name": m} for m in METRICS]
        records: list[dict[str, Any]] = [
            {
                "tenant": tenant,
                "device": f"dev-{d}",
                "device_type": f"type-{d % types:03d}",
                "metrics": metrics,
                "gateway": PUBLISHER,
            }
            for d in range(devices)
        ]
        records.append(
            {
                "tenant": tenant,
                "device": PUBLISHER,
                "username": f"{PUBLISHER}@{tenant}",
                "secret": tenant,
            }
        )
        directory = cls.from_records(records)
        assert isinstance(directory, cls)
        directory.names = frozenset(r["device"] for r in records[:-1])
        return directory

    def children(self, tenant: str, gateway: str) -> frozenset[str]:
        return self.names if gateway == PUBLISHER else frozenset()


def _seed(meta: Any, tenant: str, devices: int) -> None:
    """Tenant, device types with the load's thing model, and the devices, in the metadata."""
    from helan.storage.meta.models import Device, DeviceType, Tenant

    types = max(1, devices // TYPE_SIZE)
    properties = [{"name": m, "type": "float"} for m in METRICS]
    with meta.session() as s:
        s.add(Tenant(id=tenant, name=tenant))
        s.flush()
        s.add_all(
            DeviceType(
                tenant_id=tenant, id=f"type-{t:03d}", name=f"Type {t}", properties=properties
            )
            for t in range(types)
        )
        s.flush()
        s.add_all(
            Device(
                tenant_id=tenant,
                id=f"dev-{d}",
                name=f"Device {d}",
                device_type_id=f"type-{d % types:03d}",
                credential_hash="-",
            )
            for d in range(devices)
        )


def _add_rules(meta: Any, tenant: str, start: int, stop: int, devices: int) -> None:
    from helan.rules.store import EXPORT_FORMAT, import_rules
    from helan.security.principal import Principal, Role

    who = Principal(kind="user", subject="bench", tenant=tenant, role=Role.TENANT_ADMIN)
    for first in range(start, stop, IMPORT_CHUNK):
        last = min(stop, first + IMPORT_CHUNK)
        doc = {
            "format": EXPORT_FORMAT,
            "rules": [{"id": f"r-{i:05d}", **rule_spec(i, devices)} for i in range(first, last)],
        }
        import_rules(meta, tenant, doc, who)


# -- throughput -------------------------------------------------------------------------------


@dataclass
class _Phase:
    rules: int
    pairs: int = 0
    load_s: float = 0.0
    points: int = 0
    elapsed: float = 0.0
    evaluated: int = 0
    changes: int = 0
    lag_max_s: float = 0.0
    backlog_max: int = 0
    drain_s: float = 0.0
    dropped: int = 0
    failed: int = 0

    @property
    def points_per_s(self) -> float:
        return self.points / self.elapsed if self.elapsed else 0.0

    @property
    def kept_up(self) -> bool:
        return self.dropped == 0 and self.failed == 0 and self.lag_max_s <= LAG_LIMIT_S


def _load_process(
    url: str,
    tenant: str,
    devices: int,
    seconds: float,
    connections: int,
    window: int,
    credential: tuple[str, str] | None,
) -> tuple[Any, Any, Any]:
    address = broker_address(url)
    ctx = mp.get_context("spawn")
    consumed = ctx.Value("q", 0, lock=False)
    published = ctx.Value("q", 0, lock=False)
    proc = ctx.Process(
        target=publish_load,
        args=(
            address.host,
            address.port,
            tenant,
            devices,
            seconds,
            connections,
            window,
            consumed,
            published,
            _now_ms() - 3_600_000,
            credential,
        ),
        daemon=True,
    )
    return proc, consumed, published


def _rules_status(stream: Any) -> Any:
    from helan.rules.engine import SUBSCRIBER

    return next(s for s in stream.status() if s.name == SUBSCRIBER)


async def _throughput(
    url: str,
    embedded: bool,
    tenant: str,
    directory: _Directory,
    devices: int,
    seconds: float,
    connections: int,
    phases: tuple[int, ...],
    tmp: Path,
) -> list[_Phase]:
    from helan.connect.mqtt.subscriber import MqttIngest
    from helan.ingest.live import LiveState
    from helan.ingest.pipeline import IngestPipeline
    from helan.rules.alarms import AlarmService
    from helan.rules.engine import RuleEngine
    from helan.rules.notify.outbox import Outbox
    from helan.rules.store import RuleSource
    from helan.storage.meta import MetaStore
    from helan.storage.meta.events import EventStore
    from helan.storage.telemetry import open_store

    settings = Settings(data_dir=tmp / "throughput")
    settings.data_dir.mkdir(parents=True)
    meta = MetaStore(settings.metadata_url)
    meta.migrate()
    await asyncio.to_thread(_seed, meta, tenant, devices)
    store = open_store(settings)
    live = LiveState(offline_after_s=60)
    events = EventStore(meta)
    pipeline = IngestPipeline(store, live, settings, events=events)
    source = RuleSource(meta)
    engine = RuleEngine(
        stream=pipeline.stream,
        source=source,
        sink=AlarmService(meta, Outbox(meta), source),
        telemetry=store,
        events=events,
        checkpoint=settings.data_dir / "rules" / "checkpoint.bin",
        reload_s=3600,  # the bench reloads between phases itself
    )
    ingest = MqttIngest(
        url,
        pipeline,
        directory,
        live,
        settings,
        client_id=f"bench-{tenant}",
        tenants=[tenant],
        receive_maximum=RECEIVE_MAXIMUM,
        connections=SCALE_OUT_CONNECTIONS,
    )
    results: list[_Phase] = []
    await pipeline.start()
    await engine.start()
    await ingest.start()
    try:
        window = ingest.connections * RECEIVE_MAXIMUM // 2  # as bench ingest-mqtt
        if embedded:
            window = min(window, MQTT_MAX_ACK_PENDING // 2)
        credential = (f"{PUBLISHER}@{tenant}", tenant) if embedded else None
        have = 0
        for count in phases:
            phase = _Phase(count)
            began = time.perf_counter()
            await asyncio.to_thread(_add_rules, meta, tenant, have, count, devices)
            have = max(have, count)
            await asyncio.to_thread(engine.reload_now)
            phase.load_s = time.perf_counter() - began
            phase.pairs = sum(len(r.rule.devices) for r in engine.live.rules)
            start_status = _rules_status(pipeline.stream)
            evaluated0, changes0 = engine.live.evaluated, engine.changes
            written0 = pipeline.counters.points_written
            proc, consumed, published = _load_process(
                url, tenant, devices, seconds, connections, window, credential
            )
            started = time.perf_counter()
            proc.start()
            next_sample = 0.0
            while proc.is_alive():
                consumed.value = ingest.acknowledged
                now = time.perf_counter()
                if now >= next_sample:
                    next_sample = now + 0.1
                    status = _rules_status(pipeline.stream)
                    phase.lag_max_s = max(phase.lag_max_s, status.lag_s)
                    phase.backlog_max = max(phase.backlog_max, status.pending_points)
                await asyncio.sleep(0.02)
            proc.join()
            expected = int(published.value) * len(METRICS)
            deadline = time.perf_counter() + 60
            while pipeline.counters.points_written - written0 < expected:
                if time.perf_counter() > deadline:
                    break
                phase.lag_max_s = max(phase.lag_max_s, _rules_status(pipeline.stream).lag_s)
                await asyncio.sleep(0.02)
            phase.elapsed = time.perf_counter() - started
            phase.points = pipeline.counters.points_written - written0
            stopped = time.perf_counter()
            status = _rules_status(pipeline.stream)
            await pipeline.stream.drain(timeout_s=120)
            phase.drain_s = time.perf_counter() - stopped
            # What waited when the load stopped waited at most this long before it was handled.
            behind = status.lag_s + phase.drain_s if status.pending else 0.0
            phase.lag_max_s = max(phase.lag_max_s, behind)
            end_status = _rules_status(pipeline.stream)
            phase.dropped = end_status.dropped - start_status.dropped
            phase.failed = end_status.failed - start_status.failed
            phase.evaluated = engine.live.evaluated - evaluated0
            phase.changes = engine.changes - changes0
            results.append(phase)
    finally:
        await ingest.stop()
        await engine.stop()
        await pipeline.stop()
        await ingest.forget_sessions()
        store.close()
        meta.close()
    return results


# -- the command ----------------------------------------------------------------------------


async def _all(
    mqtt: str,
    broker: str,
    devices: int,
    seconds: float,
    connections: int,
    phases: tuple[int, ...],
    alarms: int,
    interval_s: float,
    wait_s: float,
) -> tuple[list[_Phase], Latency]:
    from helan.connect.mqtt.broker import EmbeddedBroker

    tenant = f"r{os.urandom(5).hex()}"
    directory = _Directory.of(tenant, devices)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        embedded: EmbeddedBroker | None = None
        url = mqtt
        if broker == "embedded":
            (tmp / "broker").mkdir()
            embedded = EmbeddedBroker(free_port("127.0.0.1"), directory, data_dir=tmp / "broker")
            await embedded.start()
            url = f"mqtt://127.0.0.1:{embedded.port}"
        try:
            phased = await _throughput(
                url,
                embedded is not None,
                tenant,
                directory,
                devices,
                seconds,
                connections,
                phases,
                tmp,
            )
        finally:
            if embedded is not None:
                await embedded.stop()
        latency = await measure_latency(alarms, interval_s, wait_s, tmp)
    return phased, latency


def run(
    devices: Annotated[int, typer.Option(help="Devices of the load.")] = 10_000,
    seconds: Annotated[float, typer.Option(help="Publishing time of each phase.")] = 20.0,
    broker: Annotated[
        str, typer.Option(help="mosquitto: the broker at --mqtt; embedded: nats-server.")
    ] = "mosquitto",
    mqtt: Annotated[str, typer.Option(help="Broker URL (with --broker mosquitto).")] = (
        "mqtt://127.0.0.1:1883"
    ),
    connections: Annotated[int, typer.Option(help="Publisher connections.")] = 4,
    rules: Annotated[
        str, typer.Option(help="Rules of each phase, comma-separated (the first: baseline).")
    ] = "0,1000,10000",
    alarms: Annotated[int, typer.Option(help="Alarms raised in the latency run.")] = 200,
    interval_ms: Annotated[float, typer.Option(help="Time between trigger points.")] = 50.0,
    wait_s: Annotated[float, typer.Option(help="Wait for the last notices.")] = 60.0,
) -> None:
    """Ingest with 0 / 1,000 / 10,000 rules; alarm latency and delivery through a restart."""
    import uvloop

    if broker not in ("mosquitto", "embedded"):
        raise typer.BadParameter("--broker is mosquitto or embedded")
    try:
        phases = tuple(int(n) for n in rules.split(","))
    except ValueError:
        raise typer.BadParameter("--rules: comma-separated rule counts") from None
    if len(phases) != 3 or phases[0] != 0 or list(phases) != sorted(phases):
        raise typer.BadParameter("--rules: three increasing counts, the first 0")
    load = os.getloadavg()[0]
    phased, lat = uvloop.run(
        _all(
            mqtt, broker, devices, seconds, connections, phases, alarms, interval_ms / 1000, wait_s
        )
    )
    base, mid, top = phased
    figures: dict[str, object] = {}
    for p, name in ((base, "0"), (mid, "1000"), (top, "10000")):
        figures[f"points_per_s_{name}"] = round(p.points_per_s)
    figures["ratio_1000"] = round(mid.points_per_s / base.points_per_s, 3)
    figures["ratio_10000"] = round(top.points_per_s / base.points_per_s, 3)
    figures["alarm_latency_p50_ms"] = round(percentile(lat.latencies, 50), 1)
    figures["alarm_latency_p99_ms"] = round(percentile(lat.latencies, 99), 1)
    figures["notifications_sent"] = lat.sent
    figures["notifications_lost"] = lat.lost
    for p, name in ((base, "0"), (mid, "1000"), (top, "10000")):
        figures[f"rules_{name}"] = p.rules
        figures[f"rule_device_pairs_{name}"] = p.pairs
        figures[f"evaluated_{name}"] = p.evaluated
        figures[f"condition_changes_{name}"] = p.changes
        figures[f"rules_lag_max_s_{name}"] = round(p.lag_max_s, 3)
        figures[f"rules_drain_s_{name}"] = round(p.drain_s, 3)
        figures[f"rules_dropped_{name}"] = p.dropped
        figures[f"rules_kept_up_{name}"] = p.kept_up
        figures[f"stored_{name}"] = p.points
        figures[f"seconds_{name}"] = round(p.elapsed, 2)
        figures[f"rules_load_s_{name}"] = round(p.load_s, 2)
    figures |= {
        "alarms": len(lat.latencies),
        "alarm_latency_max_ms": round(max(lat.latencies, default=0.0), 1),
        "alarms_replayed_after_restart": lat.replayed,
        "restart_s": round(lat.restart_s, 2),
        "webhook_requests": lat.requests,
        "webhook_failed": lat.failed,
        "webhook_duplicates": lat.duplicates,
        "webhook_bad_signatures": lat.bad_signatures,
        "deliveries_dead": lat.dead,
        "devices": devices,
        "broker": broker,
        "load_avg_1m": round(load, 2),
        "baseline_points_per_s": round(base.points_per_s),
    }
    report(
        f"Rules on the MQTT ingest ({devices:,} devices, {broker}); alarm latency via webhook",
        figures,
        notes={
            "ratio_1000": "target >= 0.8 (baseline: the same load with 0 rules, same run)",
            "ratio_10000": "target >= 0.5",
            "alarm_latency_p99_ms": "commit of the point -> webhook accepted; target <= 1,000",
            "notifications_lost": "must be 0 (30 % of webhook requests fail, one SIGKILL)",
            "rules_kept_up_10000": f"no item dropped, lag <= {LAG_LIMIT_S} s",
        },
    )
