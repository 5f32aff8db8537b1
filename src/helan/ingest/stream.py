"""The committed-data stream: what the ingest has made durable, handed to subscribers in-process.

Every door (MQTT native, Sparkplug, HTTP, apps writing derived metrics) commits through
:class:`helan.ingest.pipeline.IngestPipeline`; after each commit the pipeline publishes one
:class:`CommittedBatch` (points, in commit order, so per-device order is the order the points
were submitted) or :class:`CommittedEvents`. Subscribers (live state, apps, later rules) each
get their own bounded queue and task:

- publishing never waits: the commit path and the MQTT acknowledgements do not depend on any
  subscriber;
- a handler that raises is logged and counted, and gets the next item;
- a subscriber that falls more than ``max_points`` points behind loses its oldest items, which
  are counted as dropped (a subscriber that must not lose data reads the stream from JetStream,
  :mod:`helan.connect.nats.stream`, where it is kept on disk);
- its lag (items and points waiting, age of the oldest) is measured.

Items published before a subscriber subscribes are not replayed to it.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from helan.core.events import EventRow
from helan.core.tasks import cancel
from helan.observe.metrics import STREAM_DROPPED, STREAM_LAG, STREAM_LAG_SECONDS

log = logging.getLogger(__name__)

DEFAULT_MAX_POINTS = 2_000_000


@dataclass(frozen=True, slots=True)
class CommittedBatch:
    """Points the store has made durable, in POINT_SCHEMA. ``historical`` marks backfill
    (store-and-forward, bulk import): old data that must not look live."""

    points: pa.Table
    historical: bool = False
    committed_ms: int = 0


@dataclass(frozen=True, slots=True)
class CommittedEvents:
    """Device events the store has made durable (including ``device_online``/``offline``)."""

    rows: Sequence[EventRow]
    historical: bool = False
    committed_ms: int = 0


Committed = CommittedBatch | CommittedEvents
Handler = Callable[[Committed], Awaitable[None] | None]


def _size(item: Committed) -> int:
    return item.points.num_rows if isinstance(item, CommittedBatch) else len(item.rows)


@dataclass(slots=True)
class SubscriberStatus:
    name: str
    pending: int  # items waiting
    pending_points: int  # points (or events) in them
    lag_s: float  # age of the oldest waiting item
    delivered: int
    dropped: int
    failed: int


@dataclass(eq=False)
class Subscription:
    """One subscriber's queue and task; made by :meth:`CommittedStream.subscribe`."""

    name: str
    handler: Handler
    max_points: int
    first_seq: int  # the first item it gets (items before it subscribed are not its)
    done_seq: int = 0  # every item up to this one is handled (or dropped)
    _queue: collections.deque[tuple[float, int, Committed]] = field(
        default_factory=collections.deque
    )
    _points: int = 0
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    _busy: bool = False
    delivered: int = 0
    dropped: int = 0
    failed: int = 0

    def offer(self, seq: int, item: Committed) -> None:
        self._queue.append((time.monotonic(), seq, item))
        self._points += _size(item)
        while self._points > self.max_points and len(self._queue) > 1:
            _, _, old = self._queue.popleft()  # done once a later item is handled
            self._points -= _size(old)
            self.dropped += 1
            STREAM_DROPPED.labels(self.name).inc()
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning(
                    "committed stream: subscriber %s is behind, dropped %d items",
                    self.name,
                    self.dropped,
                )
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"helan-stream-{self.name}"
            )
        self._wake.set()

    async def _run(self) -> None:
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            _, seq, item = self._queue.popleft()
            self._points -= _size(item)
            self._busy = True
            try:
                result = self.handler(item)
                if result is not None:
                    await result
                self.delivered += 1
            except asyncio.CancelledError:
                raise
            except Exception:  # a subscriber's bug is its own: the next item still comes
                self.failed += 1
                log.exception("committed stream: subscriber %s failed", self.name)
            finally:
                self._busy = False
                self.done_seq = max(self.done_seq, seq)

    @property
    def idle(self) -> bool:
        return not self._queue and not self._busy

    def status(self) -> SubscriberStatus:
        now = time.monotonic()
        return SubscriberStatus(
            name=self.name,
            pending=len(self._queue),
            pending_points=self._points,
            lag_s=round(now - self._queue[0][0], 3) if self._queue else 0.0,
            delivered=self.delivered,
            dropped=self.dropped,
            failed=self.failed,
        )

    async def close(self) -> None:
        await cancel(self._task)
        self._task = None


def _read(ref: weakref.ref[Subscription], attr: str) -> float:
    sub = ref()
    return float(getattr(sub.status(), attr)) if sub is not None else 0.0


class CommittedStream:
    """Owned by the event loop: :meth:`publish` is called from it, handlers run on it."""

    def __init__(self) -> None:
        self._subs: dict[str, Subscription] = {}
        self.published = 0

    def subscribe(
        self, name: str, handler: Handler, *, max_points: int = DEFAULT_MAX_POINTS
    ) -> Subscription:
        """Deliver every item published from now on to ``handler`` (sync or async)."""
        if name in self._subs:
            raise ValueError(f"committed stream: subscriber {name!r} already exists")
        sub = Subscription(name, handler, max_points, first_seq=self.published + 1)
        self._subs[name] = sub
        # Read at scrape time (nothing is paid per item), through a weak reference so that the
        # metric does not keep a closed stream's queue alive.
        ref = weakref.ref(sub)
        STREAM_LAG.labels(name).set_function(lambda: _read(ref, "pending"))
        STREAM_LAG_SECONDS.labels(name).set_function(lambda: _read(ref, "lag_s"))
        return sub

    async def unsubscribe(self, name: str) -> None:
        sub = self._subs.pop(name, None)
        if sub is not None:
            await sub.close()

    def publish(self, item: Committed) -> int:
        """Queue ``item`` for every subscriber; its sequence number (0: empty, not published)."""
        if not _size(item):
            return 0
        self.published += 1
        for sub in list(self._subs.values()):
            sub.offer(self.published, item)
        return self.published

    async def handled(self, seq: int, timeout_s: float = 10.0) -> bool:
        """Wait until every subscriber has handled (or dropped) item ``seq`` and those before
        it; False on timeout. Unlike :meth:`drain`, later items do not make it wait longer."""
        deadline = time.monotonic() + timeout_s
        while any(s.first_seq <= seq and s.done_seq < seq for s in self._subs.values()):
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.005)
        return True

    def status(self) -> list[SubscriberStatus]:
        return [s.status() for s in self._subs.values()]

    async def drain(self, timeout_s: float = 10.0) -> bool:
        """Wait until every subscriber has handled what was published; False on timeout."""
        deadline = time.monotonic() + timeout_s
        while not all(s.idle for s in self._subs.values()):
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.005)
        return True

    async def close(self, timeout_s: float = 5.0) -> None:
        """Let subscribers finish what is queued (up to ``timeout_s``), then stop them."""
        await self.drain(timeout_s)
        for sub in list(self._subs.values()):
            await sub.close()
        self._subs.clear()
