"""Fixtures of the ingest tests: the small thing model and a real DuckDB store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ingest_model import DEVICES

from helan.config import Settings
from helan.ingest.static_directory import StaticDirectory
from helan.storage.meta import MetaStore
from helan.storage.telemetry import open_store
from helan.storage.telemetry.base import TelemetryStore


@pytest.fixture
def directory() -> StaticDirectory:
    return StaticDirectory.from_records(DEVICES)


@pytest.fixture
def store(settings: Settings) -> Iterator[TelemetryStore]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    s = open_store(settings)
    yield s
    s.close()


@pytest.fixture
def meta(tmp_path: Path) -> Iterator[MetaStore]:
    """A migrated SQLite metadata store (where device events are kept)."""
    store = MetaStore(f"sqlite:///{tmp_path / 'meta.sqlite3'}")
    store.migrate()
    yield store
    store.close()
