"""Real parts behind the apps: a SQLite metadata store, a DuckDB telemetry store, the ingest
pipeline, the scheduler; two tenants, one device each."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from helan.apps.installs import AppInstalls
from helan.apps.sdk import AppServices
from helan.config import Settings
from helan.ingest.live import LiveState
from helan.ingest.pipeline import IngestPipeline
from helan.jobs import Scheduler
from helan.storage.meta import MetaStore
from helan.storage.meta.events import EventStore
from helan.storage.meta.models import Device, Tenant
from helan.storage.telemetry import open_store


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[AppServices]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    meta = MetaStore(settings.metadata_url)
    meta.migrate()
    with meta.session() as s:
        for tenant in ("acme", "beta"):
            s.add(Tenant(id=tenant, name=tenant.title()))
        s.flush()
        s.add(Device(tenant_id="acme", id="press-1", name="Press 1", credential_hash="x"))
        s.add(Device(tenant_id="acme", id="press-2", name="Press 2", credential_hash="x"))
        s.add(Device(tenant_id="beta", id="pump-1", name="Pump 1", credential_hash="x"))
    telemetry = open_store(settings)
    live = LiveState(offline_after_s=60)
    pipeline = IngestPipeline(telemetry, live, settings, events=EventStore(meta))
    await pipeline.start()
    scheduler = Scheduler(stop_grace_s=1)
    await scheduler.start()
    yield AppServices(
        meta=meta,
        telemetry=telemetry,
        live=live,
        ingest=pipeline,
        scheduler=scheduler,
        installs=AppInstalls(meta),
    )
    await scheduler.stop()
    await pipeline.stop()
    telemetry.close()
    meta.close()
