"""The platform's own ingest inside an edge benchmark: MqttIngest (persistent session, ack after
commit) → ingest pipeline → DuckDB in a temporary directory, with a static device directory of
the benchmark's devices. Points count as stored once the pipeline reported them durable."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from helan.config import Settings
from helan.connect.mqtt.subscriber import MqttIngest
from helan.ingest.live import LiveState
from helan.ingest.pipeline import IngestPipeline
from helan.ingest.static_directory import StaticDirectory
from helan.storage.telemetry import open_store
from helan.storage.telemetry.base import TelemetryStore


class BenchPlatform:
    def __init__(
        self,
        tmp: Path,
        mqtt_url: str,
        tenant: str,
        devices: Mapping[str, Sequence[str]],
        *,
        metric_type: str = "float",
    ) -> None:
        self.tenant = tenant
        self.mqtt_url = mqtt_url
        self.settings = Settings(data_dir=tmp / "platform", mqtt_url=mqtt_url)
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        records = [
            {
                "tenant": tenant,
                "device": device,
                "metrics": [{"name": m, "type": metric_type} for m in metrics],
            }
            for device, metrics in devices.items()
        ]
        self.directory = StaticDirectory.from_records(records)
        self.store: TelemetryStore = open_store(self.settings)
        self.live = LiveState(offline_after_s=60)
        self.pipeline = IngestPipeline(self.store, self.live, self.settings)
        self.client_id = f"bench-ingest-{uuid.uuid4().hex[:8]}"
        self.ingest = MqttIngest(
            mqtt_url,
            self.pipeline,
            self.directory,
            self.live,
            self.settings,
            client_id=self.client_id,
            tenants=[tenant],
        )

    async def start(self) -> None:
        await self.pipeline.start()
        await self.ingest.start()

    def accepted(self) -> int:
        """Points written durably so far (a redelivered point counts again)."""
        snapshot = self.pipeline.counters.snapshot(self.tenant)
        accepted = snapshot["accepted"]
        assert isinstance(accepted, int)
        return accepted

    def stored(self) -> int:
        """Distinct points in the store ((device, metric, ts) de-duplicated)."""
        return self.store.stats().points

    async def stop(self) -> None:
        await self.ingest.stop()
        await self.pipeline.stop()
        self._forget_session()

    def close(self) -> None:
        self.store.close()

    def _forget_session(self) -> None:
        """Drop the persistent session at the broker so it does not queue for nobody."""
        host, port = self.mqtt_url.split("://", 1)[1].rsplit(":", 1)
        c = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=paho.MQTTv5,
        )
        try:
            c.connect(host, int(port), clean_start=True)
            c.loop_start()
            c.disconnect()
            c.loop_stop()
        except OSError:
            pass
