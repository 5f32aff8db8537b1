"""The ingest facade: the one entry every door (MQTT native, Sparkplug, HTTP, apps) commits
through, and the publisher of the committed-data stream.

Point submissions are merged into one store write of up to ``ingest_batch_points`` points or
``ingest_batch_ms`` of age; each submitter's await resolves only once its points are durable,
which is what lets MQTT acknowledge after commit and HTTP answer 200 after the write. One write
runs at a time in one worker thread while the next batch gathers. Events are written by the
event sink, a few batches at a time in threads. After each commit the pipeline publishes what
it made durable on :attr:`IngestPipeline.stream` (live state is one subscriber), before the
submitters are answered; the stream never makes a commit wait.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from helan.config import Settings
from helan.core.errors import StorageUnavailable
from helan.core.events import EventRow, EventSink
from helan.core.points import POINT_SCHEMA
from helan.core.tasks import wait_set
from helan.ingest.counters import IngestCounters
from helan.ingest.live import LiveState, now_ms
from helan.ingest.native import DevicePoints
from helan.ingest.stream import CommittedBatch, CommittedEvents, CommittedStream
from helan.storage.telemetry.base import TelemetryStore

log = logging.getLogger(__name__)

# Event writes in flight at once: one, as SQLite has one writer (a write carries a whole MQTT
# batch's events, so PostgreSQL loses little by it).
EVENT_WRITERS = 1


@dataclass(slots=True)
class _Pending:
    item: pa.Table | DevicePoints
    points: int
    future: asyncio.Future[int]
    historical: bool


def points_table(groups: list[DevicePoints]) -> pa.Table:
    """One POINT_SCHEMA table from many devices' point lists."""
    tenant: list[str] = []
    device: list[str] = []
    metric: list[str] = []
    ts: list[int] = []
    value: list[float | None] = []
    text: list[str | None] = []
    for g in groups:
        n = len(g.ts)
        tenant += [g.tenant] * n
        device += [g.device] * n
        metric += g.metric
        ts += g.ts
        value += g.value
        text += g.text
    return pa.table(
        [
            pa.array(tenant, pa.string()),
            pa.array(device, pa.string()),
            pa.array(metric, pa.string()),
            pa.array(ts, pa.int64()),
            pa.array(value, pa.float64()),
            pa.array(text, pa.string()),
            pa.array(np.zeros(len(ts), dtype=np.int8)),
        ],
        schema=POINT_SCHEMA,
    )


def _tables(items: list[pa.Table | DevicePoints]) -> pa.Table | None:
    """One table of ``items`` in their order (device point lists merged), or None."""
    if not items:
        return None
    tables: list[pa.Table] = []
    groups: list[DevicePoints] = []
    for item in items:
        if isinstance(item, DevicePoints):
            groups.append(item)
            continue
        if groups:
            tables.append(points_table(groups))
            groups = []
        tables.append(item)
    if groups:
        tables.append(points_table(groups))
    return pa.concat_tables(tables) if len(tables) > 1 else tables[0]


class IngestPipeline:
    """``live``, when given, is subscribed to the stream as ``live``; ``events`` is where
    device events go (without one, :meth:`submit_events` refuses)."""

    def __init__(
        self,
        store: TelemetryStore,
        live: LiveState | None,
        settings: Settings,
        *,
        counters: IngestCounters | None = None,
        events: EventSink | None = None,
        stream: CommittedStream | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.counters = counters or IngestCounters()
        self.events = events
        self.stream = stream if stream is not None else CommittedStream()
        if live is not None:
            self.stream.subscribe("live", live.on_committed)
        self._event_writes = asyncio.Semaphore(EVENT_WRITERS)
        self._pending: list[_Pending] = []
        self._pending_points = 0
        self._oldest = 0.0
        self._wake = asyncio.Event()
        self._executor: ThreadPoolExecutor | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._stopped = False

    @property
    def running(self) -> bool:
        return self._task is not None and not self._closing

    async def start(self) -> None:
        if self._task is not None:
            return
        self._closing = False
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="helan-ingest-write")
        self._task = asyncio.create_task(self._run(), name="helan-ingest-pipeline")

    async def stop(self) -> None:
        """Write everything already submitted, then stop."""
        if self._task is None:
            return
        self._closing = True
        self._wake.set()
        await self._task
        self._task = None
        self._stopped = True
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def submit(self, batch: pa.Table, *, historical: bool = False) -> int:
        """Resolve with the row count once ``batch`` (POINT_SCHEMA) is durable; raise
        :class:`StorageUnavailable` if the store refused it. ``historical``: backfill, which
        subscribers must not take for live values."""
        if batch.num_rows == 0:
            return 0
        if batch.schema != POINT_SCHEMA:
            batch = batch.select(POINT_SCHEMA.names).cast(POINT_SCHEMA)
        return await self._enqueue(batch, batch.num_rows, historical)

    async def submit_points(self, points: DevicePoints) -> int:
        """Like :meth:`submit` for one device's point lists (MQTT: no Arrow per message)."""
        if not points.ts:
            return 0
        return await self._enqueue(points, len(points.ts), False)

    async def submit_events(
        self, rows: Sequence[EventRow], *, historical: bool = False
    ) -> list[EventRow]:
        """Make device events durable (a thread per write, a few at once) and publish the new
        ones; returns them (an event already stored is skipped: QoS 1 redelivers). Raises
        :class:`StorageUnavailable` when there is no event store or it failed: then none of
        ``rows`` counts as stored."""
        if not rows:
            return []
        if self.events is None:
            raise StorageUnavailable("this ingest process has no event store")
        sink = self.events
        async with self._event_writes:
            try:
                new = await asyncio.to_thread(sink.write, rows)
            except Exception as exc:  # every kind of store error must reach the submitter
                log.exception("event write of %d events failed", len(rows))
                self.counters.event_write_failed()
                raise StorageUnavailable(f"event store write failed: {exc}") from exc
        self.counters.events_written_batch(len(rows), len(new))
        for tenant, n in Counter(r.tenant for r in rows).items():
            self.counters.events(tenant, n)
        self.stream.publish(CommittedEvents(new, historical, now_ms()))
        return new

    async def _enqueue(self, item: pa.Table | DevicePoints, n: int, historical: bool) -> int:
        if self._task is None and not self._stopped:
            await self.start()  # an app served without the platform's start (e.g. in tests)
        if not self.running:
            raise StorageUnavailable("ingest pipeline is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        if not self._pending:
            self._oldest = loop.time()
            self._wake.set()
        self._pending.append(_Pending(item, n, future, historical))
        self._pending_points += n
        if self._pending_points >= self.settings.ingest_batch_points:
            self._wake.set()
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        limit = self.settings.ingest_batch_points
        max_age = self.settings.ingest_batch_ms / 1000.0
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            delay = self._oldest + max_age - loop.time()
            if self._pending_points < limit and not self._closing and delay > 0:
                self._wake.clear()
                await wait_set(self._wake, delay)
                continue
            taken: list[_Pending] = []
            points = 0
            while self._pending and (not taken or points + self._pending[0].points <= limit):
                entry = self._pending.pop(0)
                taken.append(entry)
                points += entry.points
            self._pending_points -= points
            self._oldest = loop.time()
            await self._flush(taken)

    def _write(self, taken: list[_Pending]) -> tuple[list[CommittedBatch], float, pa.Table]:
        """Write in the worker thread: one store write, then the committed live and historical
        parts (each in submission order), the write time and points per tenant."""
        parts = {False: _tables([p.item for p in taken if not p.historical])}
        parts[True] = _tables([p.item for p in taken if p.historical])
        tables = [t for t in parts.values() if t is not None]
        batch = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
        started = time.perf_counter()
        self.store.write(batch)
        elapsed = time.perf_counter() - started
        per_tenant = pc.value_counts(batch["tenant"]).to_pylist()
        tenants = pa.table(
            {
                "tenant": [c["values"] for c in per_tenant],
                "n": [c["counts"] for c in per_tenant],
            }
        )
        committed_ms = now_ms()
        committed = [
            CommittedBatch(t, historical, committed_ms)
            for historical, t in parts.items()
            if t is not None
        ]
        return committed, elapsed, tenants

    async def _flush(self, taken: list[_Pending]) -> None:
        loop = asyncio.get_running_loop()
        try:
            committed, elapsed, tenants = await loop.run_in_executor(
                self._executor, self._write, taken
            )
        except Exception as exc:  # the store's errors are many kinds; all must reach submitters
            log.exception("telemetry write of %d points failed", sum(p.points for p in taken))
            self.counters.write_failed()
            error = StorageUnavailable(f"telemetry store write failed: {exc}")
            for p in taken:
                if not p.future.done():
                    p.future.set_exception(error)
            return
        self.counters.batch_written(sum(p.points for p in taken), elapsed)
        for tenant, n in zip(tenants["tenant"].to_pylist(), tenants["n"].to_pylist(), strict=True):
            self.counters.accepted(tenant, n)
        for item in committed:
            self.stream.publish(item)
        for p in taken:
            if not p.future.done():
                p.future.set_result(p.points)
