"""The platform's parts wired together by role, started in order and stopped in reverse.

``helan run`` builds one :class:`Platform` for the roles it was given (all of them by default);
tests build the same object with their own settings, so what is tested is what runs.

Roles (docs/architecture.md, "Roles"):

- ``ingest``: the embedded broker (when no ``HELAN_MQTT_URL``), MQTT native and Sparkplug ingest;
- ``api``: the REST API and console (HTTP ingest included), remote commands, Mosquitto file sync;
- ``rules``: the online/offline watchdog, the rule engine (alarms behind it) and the
  notification delivery worker;
- ``apps``: the apps, their jobs, and the platform's own jobs (retention, scheduled reports);
- ``ident``: the embedded identifier node (Handle UDP/TCP and its REST API).

Every process has the stores, the ingest facade (:class:`~helan.ingest.pipeline.IngestPipeline`)
and its committed-data stream. Processes that run apart share the stream over JetStream
(``HELAN_STREAM_URL``): each publishes what it commits, and one with a consuming role (api,
rules, apps) subscribes to what the others committed.

Parts start one by one; each started part's stop is pushed on an :class:`AsyncExitStack`, so
:meth:`Platform.stop` (or a part failing to start) stops them in reverse, every one of them
even when one fails to stop.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import Callable, Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from helan.config import Settings
from helan.ingest.reasons import TOPIC_NOT_ALLOWED
from helan.jobs import Scheduler

if TYPE_CHECKING:
    from helan.apps.component import AppsComponent
    from helan.connect.commands.service import CommandService
    from helan.connect.mqtt.broker import EmbeddedBroker
    from helan.connect.mqtt.mosquitto_sync import MosquittoAuthSync
    from helan.connect.mqtt.subscriber import MqttIngest
    from helan.connect.nats.stream import JetStreamIn, JetStreamOut
    from helan.connect.sparkplug.service import SparkplugIngest
    from helan.core.thing import DeviceDirectory
    from helan.ident.link.service import IdentLink
    from helan.ingest.live import LiveState
    from helan.ingest.pipeline import IngestPipeline
    from helan.ingest.watchdog import OnlineWatchdog
    from helan.rules.alarms import AlarmService
    from helan.rules.engine import RuleEngine
    from helan.rules.notify.delivery import Delivery
    from helan.rules.store import RuleSource
    from helan.services.stream_hub import StreamHub
    from helan.storage.meta import MetaStore
    from helan.storage.telemetry.base import TelemetryStore

log = logging.getLogger(__name__)

ROLES = ("api", "ingest", "rules", "apps", "ident")
CONSUMING_ROLES = frozenset({"api", "rules", "apps"})
EMBEDDED_PORT_TRIES = 16


class Component(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def parse_roles(given: Iterable[str]) -> frozenset[str]:
    """``api``, ``ingest`` ... or ``all``; anything else is refused with the list."""
    roles: set[str] = set()
    for item in given:
        for role in filter(None, (r.strip() for r in item.split(","))):
            if role == "all":
                roles.update(ROLES)
            elif role in ROLES:
                roles.add(role)
            else:
                raise ValueError(f"unknown role {role!r}: choose from all, {', '.join(ROLES)}")
    return frozenset(roles or ROLES)


def _port_free(port: int) -> bool:
    """Whether the embedded broker could listen on ``port`` (it binds all interfaces)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))  # noqa: S104 - the same address the broker binds
        except OSError:
            return False
    return True


@dataclass(kw_only=True)
class Platform:
    settings: Settings
    meta: MetaStore
    directory: DeviceDirectory
    telemetry: TelemetryStore
    live: LiveState
    pipeline: IngestPipeline
    roles: frozenset[str] = frozenset(ROLES)
    origin: str = field(default_factory=lambda: uuid.uuid4().hex)
    broker: EmbeddedBroker | None = None
    mqtt: MqttIngest | None = None
    sparkplug: SparkplugIngest | None = None
    commands: CommandService | None = None
    ident: IdentLink | None = None
    scheduler: Scheduler = field(default_factory=Scheduler)
    apps: AppsComponent | None = None
    mosquitto: MosquittoAuthSync | None = None
    watchdog: OnlineWatchdog | None = None
    stream_out: JetStreamOut | None = None
    stream_in: JetStreamIn | None = None
    stream_hub: StreamHub | None = None
    rule_source: RuleSource | None = None
    alarms: AlarmService | None = None
    rules: RuleEngine | None = None
    delivery: Delivery | None = None
    _stack: AsyncExitStack | None = field(default=None, repr=False)

    @classmethod
    def build(cls, settings: Settings, roles: Iterable[str] = ROLES) -> Platform:
        """Open the stores and create the parts the API needs before start (apps' routes, the
        identifier node's REST routes); nothing runs until :meth:`start`."""
        from helan.apps.component import load_apps
        from helan.apps.installs import AppInstalls
        from helan.apps.sdk import AppServices
        from helan.ident.link.service import IdentLink
        from helan.ingest.live import LiveState
        from helan.ingest.pipeline import IngestPipeline
        from helan.rules.alarms import AlarmService
        from helan.rules.notify.outbox import Outbox
        from helan.rules.store import RuleSource
        from helan.services.stream_hub import StreamHub
        from helan.storage.meta import MetaStore
        from helan.storage.meta.directory import MetaDirectory
        from helan.storage.meta.events import EventStore
        from helan.storage.telemetry import open_store

        chosen = parse_roles(roles)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        meta = MetaStore(settings.metadata_url)
        meta.migrate()
        telemetry = open_store(settings)
        live = LiveState(offline_after_s=settings.device_offline_after_s)
        pipeline = IngestPipeline(telemetry, live, settings, events=EventStore(meta))
        scheduler = Scheduler()
        apps = None
        if "apps" in chosen:
            # Apps load here, not at import: their routes must exist before the API app is made.
            services = AppServices(
                meta=meta,
                telemetry=telemetry,
                live=live,
                ingest=pipeline,
                scheduler=scheduler,
                installs=AppInstalls(meta),
            )
            apps = load_apps(services)
        hub = StreamHub(pipeline.stream)
        source = RuleSource(meta)
        # Every process has the alarm service: the API's operator actions and the engine's
        # changes go through the same rules (and the same transactional outbox).
        alarms = AlarmService(meta, Outbox(meta), source, on_change=_alarm_to_hub(hub))
        return cls(
            settings=settings,
            meta=meta,
            directory=MetaDirectory(meta),
            telemetry=telemetry,
            live=live,
            pipeline=pipeline,
            roles=chosen,
            ident=IdentLink(meta, settings) if "ident" in chosen else None,
            scheduler=scheduler,
            apps=apps,
            stream_hub=hub,
            rule_source=source,
            alarms=alarms,
        )

    @property
    def mqtt_url(self) -> str:
        if self.settings.mqtt_url:
            return self.settings.mqtt_url
        return f"mqtt://127.0.0.1:{self.settings.mqtt_embedded_port}"

    def readiness(self) -> dict[str, bool]:
        """What ``/readyz`` checks: the parts this process runs are up and keeping step."""
        checks = {
            "started": self._stack is not None,
            "ingest_writer": self.pipeline.running,
            "metadata_listeners": self.meta.listeners_healthy,
        }
        if self.mqtt is not None:
            checks["mqtt_ingest"] = self.mqtt.connected
        if self.stream_in is not None:
            checks["stream_in"] = self.stream_in.connected
        if self.stream_out is not None:
            checks["stream_out"] = self.stream_out.connected
        return checks

    async def start(self, *, mqtt: bool = True) -> None:
        """Start this process's parts in order; on a failure, stop the started ones and raise.
        ``mqtt=False``: no broker connections (no MQTT ingest, no commands): for tests."""
        stack = AsyncExitStack()
        if self.alarms is not None and self.stream_hub is not None:
            # Alarm changes come from the rules' thread and the API's thread pool: hand them
            # to the hub on its loop.
            self.alarms.on_change = _alarm_to_hub(self.stream_hub, asyncio.get_running_loop())
        try:
            await self._start_parts(stack, mqtt=mqtt)
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        log.info(
            "platform started: roles %s (mqtt %s)",
            ",".join(sorted(self.roles)),
            self.mqtt_url if mqtt else "off",
        )

    async def _run(self, stack: AsyncExitStack, name: str, part: Component) -> None:
        await part.start()

        async def stop() -> None:
            try:
                await part.stop()
            except Exception:  # the parts below it must still stop
                log.exception("stopping %s failed", name)

        stack.push_async_callback(stop)

    async def _start_parts(self, stack: AsyncExitStack, *, mqtt: bool) -> None:
        from helan.connect.commands.service import CommandService
        from helan.connect.mqtt.broker import EmbeddedBroker
        from helan.connect.mqtt.subscriber import MqttIngest
        from helan.connect.sparkplug.service import SparkplugIngest
        from helan.ingest.watchdog import OnlineWatchdog
        from helan.reports.runs import report_jobs
        from helan.security.assets.identification import IdentificationRecorder
        from helan.security.audit_chain import audit_jobs
        from helan.services.region_indicators import indicator_job
        from helan.services.security_assets import advisory_alert_job
        from helan.storage.retention import retention_job

        roles = self.roles
        stack.callback(self.meta.close)
        stack.callback(self.telemetry.close)
        # The stream closes after the pipeline's last commit was published on it.
        stack.push_async_callback(self.pipeline.stream.close)
        await self._run(stack, "pipeline", self.pipeline)
        if "apps" in roles:  # one role, so that two processes never run the same job
            self.scheduler.add(retention_job(self.meta, self.telemetry))
            for job in report_jobs(self.meta, self.telemetry, self.settings):
                self.scheduler.add(job)
            for job in audit_jobs(self.meta, self.settings):
                self.scheduler.add(job)
            self.scheduler.add(advisory_alert_job(self.meta, self.pipeline))
            self.scheduler.add(indicator_job(self.meta))
        await self._run(stack, "scheduler", self.scheduler)
        if "rules" in roles:
            # Before the ingest: subscribed (and its replay done) before anything new commits,
            # so what the broker redelivers after a crash is held and evaluated in order.
            await self._start_rule_engine(stack)
        if self.ident is not None:
            stack.callback(self.ident.close)
            await self._run(stack, "ident", self.ident)
        if "api" in roles and self.settings.mosquitto_auth_dir is not None:
            # Before the MQTT clients: Mosquitto must know the platform's login when they
            # connect. Also without them: an API-only process is where devices change.
            self.mosquitto = self._mosquitto_sync()
            await self._run(stack, "mosquitto-sync", self.mosquitto)
        if mqtt and "ingest" in roles:
            if not self.settings.mqtt_url:
                self.broker = self._embedded_broker(EmbeddedBroker)
                await self._run(stack, "broker", self.broker)
            instance = self.settings.ingest_instance
            self.mqtt = MqttIngest(
                url=self.mqtt_url,
                pipeline=self.pipeline,
                directory=self.directory,
                live=self.live,
                settings=self.settings,
                client_id=f"helan-ingest-{instance}" if instance else "helan-ingest",
                share_group=self.settings.ingest_group if instance else None,
                identification=IdentificationRecorder(self.meta),
            )
            await self._run(stack, "mqtt-ingest", self.mqtt)
            self.sparkplug = SparkplugIngest(
                url=self.mqtt_url,
                pipeline=self.pipeline,
                directory=self.directory,
                live=self.live,
                meta=self.meta,
                settings=self.settings,
            )
            await self._run(stack, "sparkplug", self.sparkplug)
        if mqtt and "api" in roles:
            self.commands = CommandService(url=self.mqtt_url, meta=self.meta)
            await self._run(stack, "commands", self.commands)
        await self._start_stream_bridge(stack)
        if "rules" in roles:
            self.watchdog = OnlineWatchdog(self.live, self.pipeline, self.directory)
            await self._run(stack, "watchdog", self.watchdog)
            await self._start_notifications(stack)
        if self.apps is not None:
            await self._run(stack, "apps", self.apps)

    async def _start_rule_engine(self, stack: AsyncExitStack) -> None:
        from helan.rules.engine import RuleEngine
        from helan.storage.meta.events import EventStore

        assert self.alarms is not None
        assert self.rule_source is not None
        self.rules = RuleEngine(
            stream=self.pipeline.stream,
            source=self.rule_source,
            sink=self.alarms,
            telemetry=self.telemetry,
            events=EventStore(self.meta),
            checkpoint=self.settings.data_dir / "rules" / "checkpoint.bin",
            alarm_tick=self.alarms.tick,
            reorder_ms=self._reorder_ms(),
            startup_hold_ms=self.settings.rules_startup_hold_ms,
        )
        await self._run(stack, "rules", self.rules)

    async def _start_notifications(self, stack: AsyncExitStack) -> None:
        """After the command service: the command channel sends through it."""
        from helan.rules.notify.delivery import Delivery

        self.delivery = Delivery(self.meta, self.settings, commands=self.commands)
        await self._run(stack, "notifications", self.delivery)

    def _reorder_ms(self) -> int:
        given = self.settings.rules_reorder_ms
        if given is not None:
            return given
        return 0 if "ingest" in self.roles else 1000

    def _stream_url(self) -> str:
        if self.settings.stream_url:
            return self.settings.stream_url
        if self.roles == frozenset(ROLES):
            return ""  # everything in this process: the in-process stream is the whole stream
        if self.broker is not None:
            from helan.connect.nats.stream import service_nats_url

            return service_nats_url(self.broker.nats_url)
        raise ValueError(
            f"roles {','.join(sorted(self.roles))} run apart from the others: set "
            "HELAN_STREAM_URL to a NATS server with JetStream (the committed-data stream)"
        )

    async def _start_stream_bridge(self, stack: AsyncExitStack) -> None:
        url = self._stream_url()
        if not url:
            return
        from helan.connect.nats.stream import JetStreamIn, JetStreamOut

        stream = self.pipeline.stream
        self.stream_out = JetStreamOut(url, stream, origin=self.origin)
        await self._run(stack, "stream-out", self.stream_out)
        consuming = self.roles & CONSUMING_ROLES
        if consuming:
            # rules and apps must not miss a commit across their restarts: a durable consumer.
            # An API process only needs what is new for its live view: an ephemeral one.
            durable = consuming - {"api"}
            name = "helan-" + "-".join(sorted(durable)) if durable else None
            self.stream_in = JetStreamIn(url, stream, origin=self.origin, durable=name)
            await self._run(stack, "stream-in", self.stream_in)

    def _mosquitto_sync(self) -> MosquittoAuthSync:
        from helan.connect.mqtt.mosquitto_sync import MosquittoAuthSync

        if not self.settings.mqtt_url:
            log.warning(
                "HELAN_MOSQUITTO_AUTH_DIR is set but HELAN_MQTT_URL is empty: the embedded "
                "broker does not read Mosquitto's files"
            )
        return MosquittoAuthSync.from_settings(self.meta, self.settings, self.mqtt_url)

    def _embedded_broker(self, factory: type[EmbeddedBroker]) -> EmbeddedBroker:
        """On the configured port, or on the next free one when another broker (often a
        system Mosquitto on 1883) holds it: the platform still starts, and says where it listens."""
        first = self.settings.mqtt_embedded_port
        port = next((p for p in range(first, first + EMBEDDED_PORT_TRIES) if _port_free(p)), None)
        if port is None:
            raise OSError(
                f"MQTT ports {first}..{first + EMBEDDED_PORT_TRIES - 1} are all in use: set "
                "HELAN_MQTT_EMBEDDED_PORT, or HELAN_MQTT_URL to use the broker already running"
            )
        if port != first:
            log.warning("MQTT port %d is in use: embedded broker on port %d", first, port)
            self.settings.mqtt_embedded_port = port
        return factory(
            port=port,
            directory=self.directory,
            live=self.live,
            host=self.settings.http_host,
            data_dir=self.settings.data_dir,
            on_refused=self._count_refused_publish,
        )

    def _count_refused_publish(self, tenant: str, device: str) -> None:
        """A publish outside the device's topics counts in its tenant's ingest report."""
        self.pipeline.counters.rejected(tenant, {TOPIC_NOT_ALLOWED: 1})

    async def stop(self) -> None:
        """Stop every started part in reverse order (each one, even after another failed)."""
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()
        else:  # built but never started: the stores are open all the same
            self.telemetry.close()
            self.meta.close()
        self.broker = self.mqtt = self.sparkplug = self.commands = None
        self.mosquitto = self.watchdog = self.stream_in = self.stream_out = None
        self.rules = self.delivery = None


def _alarm_to_hub(
    hub: StreamHub, loop: asyncio.AbstractEventLoop | None = None
) -> Callable[[str, dict[str, Any]], None]:
    """The alarm service calls from the rules' worker thread; the hub lives on the loop."""

    def publish(tenant: str, alarm: dict[str, Any]) -> None:
        if loop is None:
            hub.publish_alarm(tenant, alarm)
        else:
            loop.call_soon_threadsafe(hub.publish_alarm, tenant, alarm)

    return publish
