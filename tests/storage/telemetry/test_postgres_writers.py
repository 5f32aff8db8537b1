"""Several writer processes on one PostgreSQL telemetry store (several ingest roles): new
partitions and the roll-ups of a series they both write stay correct, and no write fails."""

from __future__ import annotations

import threading

import numpy as np
from telemetry_helpers import T0, points

from helan.storage.telemetry.base import AggQuery
from helan.storage.telemetry.postgres.store import PostgresStore

WEEK_MS = 7 * 24 * 3600 * 1000


def test_two_writers_on_one_series_keep_rollups_exact(pg_url: str) -> None:
    stores = [PostgresStore(pg_url), PostgresStore(pg_url)]  # two connections, as two processes
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def write(k: int) -> None:
        start.wait()
        try:
            for i in range(40):
                # Interleaved timestamps in the same minutes, and a new week's partition each
                # round that both writers need at once.
                ts = np.array([T0 + i * WEEK_MS + 2 * j + k for j in range(50)])
                stores[k].write(points(ts, np.ones(50)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        for i in range(40):  # each round's 100 points in one minute: its roll-up counts all
            q = AggQuery(
                tenant="acme",
                device="pump-1",
                metrics=["pressure"],
                start_ms=T0 + i * WEEK_MS,
                end_ms=T0 + i * WEEK_MS + 3_600_000,
                bucket_ms=3_600_000,
                fn="count",
            )
            assert stores[0].aggregate(q).column("value").to_pylist() == [100.0], i
        assert stores[0].stats().points == 4000
    finally:
        for s in stores:
            s.close()
