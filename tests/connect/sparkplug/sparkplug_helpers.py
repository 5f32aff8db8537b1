"""A real platform (SQLite metadata, DuckDB telemetry, ingest pipeline) with the Sparkplug ingest
on the machine's Mosquitto, restricted to one fresh tenant (= Sparkplug group) per test."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from helan.config import Settings
from helan.connect.sparkplug.service import SparkplugIngest
from helan.platform import Platform
from helan.storage.meta.directory import new_device_secret
from helan.storage.meta.models import Device, DeviceType, Tenant
from helan.storage.telemetry.base import RawQuery


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class SparkplugWorld:
    platform: Platform
    ingest: SparkplugIngest
    tenant: str
    url: str

    def stored(self, device: str, metric: str) -> list[dict[str, object]]:
        q = RawQuery(
            tenant=self.tenant, device=device, metric=metric, start_ms=0, end_ms=2**62, limit=1000
        )
        rows: list[dict[str, object]] = self.platform.telemetry.raw(q).to_pylist()
        return rows

    def add_tenant(self, *, auto_create: bool) -> None:
        with self.platform.meta.session() as s:
            s.add(Tenant(id=self.tenant, name=self.tenant, allow_auto_create=auto_create))

    def add_device(self, device: str, properties: list[dict[str, object]]) -> None:
        with self.platform.meta.session() as s:
            s.add(
                DeviceType(tenant_id=self.tenant, id="press", name="Press", properties=properties)
            )
            s.flush()
            s.add(
                Device(
                    tenant_id=self.tenant,
                    id=device,
                    name=device,
                    device_type_id="press",
                    credential_hash=new_device_secret()[1],
                )
            )


@pytest.fixture
async def sparkplug_world(tmp_path: Path, mosquitto_url: str) -> AsyncIterator[SparkplugWorld]:
    tenant = f"t{uuid.uuid4().hex[:10]}"
    settings = Settings(data_dir=tmp_path / "var", mqtt_url=mosquitto_url, ingest_batch_ms=20)
    platform = Platform.build(settings)
    await platform.pipeline.start()
    ingest = SparkplugIngest(
        url=mosquitto_url,
        pipeline=platform.pipeline,
        directory=platform.directory,
        live=platform.live,
        meta=platform.meta,
        settings=settings,
        client_id=f"sparkplug-{tenant}",
        groups=[tenant],
        session_expiry_s=30,
    )
    await ingest.start()  # returns once subscribed
    try:
        yield SparkplugWorld(platform=platform, ingest=ingest, tenant=tenant, url=mosquitto_url)
    finally:
        await ingest.stop()
        await platform.pipeline.stop()
        if platform.ident is not None:
            platform.ident.close()
        platform.telemetry.close()
        platform.meta.close()
