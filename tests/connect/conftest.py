"""Fixtures of the MQTT tests: a unique tenant, its directory, a real DuckDB store, the
pipeline in front of it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from mqtt_helpers import records, unique_tenant

from helan.config import Settings
from helan.ingest.live import LiveState
from helan.ingest.pipeline import IngestPipeline
from helan.ingest.static_directory import StaticDirectory
from helan.storage.telemetry import open_store
from helan.storage.telemetry.base import TelemetryStore


@pytest.fixture
def tenant() -> str:
    return unique_tenant()


@pytest.fixture
def directory(tenant: str) -> StaticDirectory:
    return StaticDirectory.from_records(records(tenant))


@pytest.fixture
def store(settings: Settings) -> Iterator[TelemetryStore]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    s = open_store(settings)
    yield s
    s.close()


@pytest.fixture
def live() -> LiveState:
    return LiveState(offline_after_s=60)


@pytest.fixture
async def pipeline(store, live, settings) -> AsyncIterator[IngestPipeline]:
    pipe = IngestPipeline(store, live, settings.model_copy(update={"ingest_batch_ms": 20}))
    await pipe.start()
    yield pipe
    await pipe.stop()
