"""The platform's parts wired together, started and stopped in one place.

``helan run`` builds one :class:`Platform` holding every role; tests build the same object
with their own settings, so what is tested is what runs.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from helan.config import Settings
from helan.ingest.reasons import TOPIC_NOT_ALLOWED
from helan.jobs import Scheduler

if TYPE_CHECKING:
    from helan.apps.component import AppsComponent
    from helan.connect.commands.service import CommandService
    from helan.connect.mqtt.broker import EmbeddedBroker
    from helan.connect.mqtt.mosquitto_sync import MosquittoAuthSync
    from helan.connect.mqtt.subscriber import MqttIngest
    from helan.connect.sparkplug.service import SparkplugIngest
    from helan.core.thing import DeviceDirectory
    from helan.ident.link.service import IdentLink
    from helan.ingest.live import LiveState
    from helan.ingest.pipeline import IngestPipeline
    from helan.storage.meta import MetaStore
    from helan.storage.telemetry.base import TelemetryStore

log = logging.getLogger(__name__)

EMBEDDED_PORT_TRIES = 16


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
    broker: EmbeddedBroker | None = None
    mqtt: MqttIngest | None = None
    sparkplug: SparkplugIngest | None = None
    commands: CommandService | None = None
    ident: IdentLink | None = None
    scheduler: Scheduler = field(default_factory=Scheduler)
    apps: AppsComponent | None = None
    mosquitto: MosquittoAuthSync | None = None
    _started: bool = field(default=False, repr=False)

    @classmethod
    def build(cls, settings: Settings) -> Platform:
        """Open the stores and create every part; nothing runs until :meth:`start`."""
        from helan.apps.component import load_apps
        from helan.apps.installs import AppInstalls
        from helan.apps.sdk import AppServices
        from helan.ident.link.service import IdentLink
        from helan.ingest.live import LiveState
        from helan.ingest.pipeline import IngestPipeline
        from helan.storage.meta import MetaStore
        from helan.storage.meta.directory import MetaDirectory
        from helan.storage.meta.events import EventStore
        from helan.storage.retention import retention_job
        from helan.storage.telemetry import open_store

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        meta = MetaStore(settings.metadata_url)
        meta.migrate()
        telemetry = open_store(settings)
        live = LiveState(offline_after_s=settings.device_offline_after_s)
        pipeline = IngestPipeline(telemetry, live, settings)
        scheduler = Scheduler()
        scheduler.add(retention_job(meta, telemetry))
        # Apps load here, not at import: their routes must exist before the API app is made.
        services = AppServices(
            meta=meta,
            telemetry=telemetry,
            live=live,
            submit=pipeline.submit,
            events=EventStore(meta),
            scheduler=scheduler,
            installs=AppInstalls(meta),
        )
        return cls(
            settings=settings,
            meta=meta,
            directory=MetaDirectory(meta),
            telemetry=telemetry,
            live=live,
            pipeline=pipeline,
            ident=IdentLink(meta, settings),
            scheduler=scheduler,
            apps=load_apps(services),
        )

    @property
    def mqtt_url(self) -> str:
        if self.settings.mqtt_url:
            return self.settings.mqtt_url
        return f"mqtt://127.0.0.1:{self.settings.mqtt_embedded_port}"

    async def start(self, *, mqtt: bool = True) -> None:
        from helan.connect.commands.service import CommandService
        from helan.connect.mqtt.broker import EmbeddedBroker
        from helan.connect.mqtt.subscriber import MqttIngest
        from helan.connect.sparkplug.service import SparkplugIngest
        from helan.storage.meta.events import EventStore

        await self.pipeline.start()
        await self.scheduler.start()
        if self.ident is not None:
            await self.ident.start()
        if self.settings.mosquitto_auth_dir is not None:
            # Before the MQTT clients: Mosquitto must know the platform's login when they
            # connect. Also without them: an API-only process is where devices change.
            await self._start_mosquitto_sync()
        if mqtt:
            if not self.settings.mqtt_url:
                self.broker = await self._start_embedded_broker(EmbeddedBroker)
            self.mqtt = MqttIngest(
                url=self.mqtt_url,
                pipeline=self.pipeline,
                directory=self.directory,
                live=self.live,
                settings=self.settings,
                events=EventStore(self.meta),
            )
            await self.mqtt.start()
            self.sparkplug = SparkplugIngest(
                url=self.mqtt_url,
                pipeline=self.pipeline,
                directory=self.directory,
                live=self.live,
                meta=self.meta,
                settings=self.settings,
            )
            await self.sparkplug.start()
            self.commands = CommandService(url=self.mqtt_url, meta=self.meta)
            await self.commands.start()
        if self.apps is not None:
            await self.apps.start()
        self._started = True
        log.info("platform started (mqtt %s)", self.mqtt_url if mqtt else "off")

    async def _start_mosquitto_sync(self) -> None:
        from helan.connect.mqtt.mosquitto_sync import MosquittoAuthSync

        if not self.settings.mqtt_url:
            log.warning(
                "HELAN_MOSQUITTO_AUTH_DIR is set but HELAN_MQTT_URL is empty: the embedded "
                "broker does not read Mosquitto's files"
            )
        self.mosquitto = MosquittoAuthSync.from_settings(self.meta, self.settings, self.mqtt_url)
        await self.mosquitto.start()

    async def _start_embedded_broker(self, factory: type[EmbeddedBroker]) -> EmbeddedBroker:
        """Start on the configured port, or on the next free one when another broker (often a
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
        broker = factory(
            port=port,
            directory=self.directory,
            live=self.live,
            host=self.settings.http_host,
            data_dir=self.settings.data_dir,
            on_refused=self._count_refused_publish,
        )
        await broker.start()
        return broker

    def _count_refused_publish(self, tenant: str, device: str) -> None:
        """A publish outside the device's topics counts in its tenant's ingest report."""
        self.pipeline.counters.rejected(tenant, {TOPIC_NOT_ALLOWED: 1})

    async def stop(self) -> None:
        if self.apps is not None:
            await self.apps.stop()
        if self.commands is not None:
            await self.commands.stop()
            self.commands = None
        if self.sparkplug is not None:
            await self.sparkplug.stop()
            self.sparkplug = None
        if self.mqtt is not None:
            await self.mqtt.stop()
            self.mqtt = None
        if self.broker is not None:
            await self.broker.stop()
            self.broker = None
        if self.mosquitto is not None:
            await self.mosquitto.stop()
            self.mosquitto = None
        await self.scheduler.stop()
        await self.pipeline.stop()
        if self.ident is not None:
            await self.ident.stop()
            self.ident.close()
        self.telemetry.close()
        self.meta.close()
        self._started = False
