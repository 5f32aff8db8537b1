"""A store per backend: every test in this folder runs against DuckDB and PostgreSQL alike.

``duckdb-archive`` is the DuckDB store archiving every closed 10-minute window to Parquet right
after each write, so the same tests also read across the archive (raw, aggregate edges, export,
retention, rewrites into archived windows)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from telemetry_helpers import Store

from helan.storage.telemetry.duckdb.store import DuckDBStore
from helan.storage.telemetry.postgres.store import PostgresStore


class ArchivingStore(DuckDBStore):
    """Archives every closed 10 minutes after each write (the compactor thread would, later)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, archive_window_ms=600_000, archive_grace_ms=0)

    def write(self, batch: pa.Table) -> int:
        n = super().write(batch)
        self.compact()
        self.archive_closed()
        return n


@pytest.fixture(params=["duckdb", "duckdb-archive", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_store(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[], Store]]:
    """A factory, so tests can close and reopen the same store; everything opened is closed."""
    opened: list[Store] = []
    url = request.getfixturevalue("pg_url") if backend == "postgres" else ""

    def factory() -> Store:
        store: Store
        if backend == "duckdb":
            store = DuckDBStore(tmp_path / "t.duckdb")
        elif backend == "duckdb-archive":
            store = ArchivingStore(tmp_path / "t.duckdb")
        else:
            store = PostgresStore(url)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Callable[[], Store]) -> Store:
    return open_store()
