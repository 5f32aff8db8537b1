"""The console's live feed: one subscription to the committed-data stream, fanned out to every
open browser tab of a tenant, each through its own small bounded mailbox.

Why coalesce: a dashboard draws the newest value of each series; a tab that receives every
point of a 10 kHz tenant would fall behind and grow without bound. Each client keeps only the
latest value per (device, metric) until its next flush (every ~250 ms), so what a slow tab
costs is bounded by the number of series it watches (``max_series``), never by the point rate.
Overwritten values are counted as ``coalesced``. Device online/offline changes and alarm
changes are discrete and are all delivered, in order, through a bounded queue (``max_events``);
past it the oldest are dropped and counted (``dropped``), and the client is told, so the page
can reload what it shows. Counts travel in every heartbeat.

The hub never waits on a client: the stream's handler only updates mailboxes in memory.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from helan.core.tasks import wait_set
from helan.ingest.live import latest_per_series, now_ms
from helan.ingest.stream import Committed, CommittedBatch, CommittedEvents, CommittedStream

log = logging.getLogger(__name__)

SUBSCRIBER = "console-stream"
STATUS_EVENTS = {"device_online": True, "device_offline": False}
DEFAULT_MAX_SERIES = 20_000
DEFAULT_MAX_EVENTS = 1_000


@dataclass(slots=True)
class Frame:
    """What a client gets at one flush: latest values, then discrete changes."""

    points: dict[str, dict[str, list[Any]]]  # device -> metric -> [ts, value]
    events: list[tuple[str, dict[str, Any]]]  # (kind: "device" | "alarm", payload)
    lost: int  # discrete changes dropped since the last frame


@dataclass(eq=False)
class Client:
    """One browser tab's mailbox; made by :meth:`StreamHub.connect`."""

    id: int
    tenant: str
    devices: frozenset[str] | None  # None: every device of the tenant
    max_series: int
    max_events: int
    _latest: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)
    _events: collections.deque[tuple[str, dict[str, Any]]] = field(
        default_factory=collections.deque
    )
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _lost: int = 0
    coalesced: int = 0
    dropped: int = 0
    delivered: int = 0

    def wants(self, device: str) -> bool:
        return self.devices is None or device in self.devices

    def offer_point(self, device: str, metric: str, ts: int, value: Any) -> None:
        key = (device, metric)
        current = self._latest.get(key)
        if current is not None:
            if ts < current[0]:
                return
            self.coalesced += 1
        elif len(self._latest) >= self.max_series:
            self.dropped += 1  # a new series past the cap: the page reloads on `lost`
            self._lost += 1
            return
        self._latest[key] = (ts, value)

    def offer_event(self, kind: str, payload: dict[str, Any]) -> None:
        self._events.append((kind, payload))
        if len(self._events) > self.max_events:
            self._events.popleft()
            self.dropped += 1
            self._lost += 1
        self._wake.set()

    @property
    def pending(self) -> bool:
        return bool(self._latest or self._events or self._lost)

    def take(self) -> Frame:
        points: dict[str, dict[str, list[Any]]] = {}
        for (device, metric), (ts, value) in self._latest.items():
            points.setdefault(device, {})[metric] = [ts, value]
        frame = Frame(points, list(self._events), self._lost)
        self.delivered += len(self._latest) + len(self._events)
        self._latest, self._lost = {}, 0
        self._events.clear()
        self._wake.clear()
        return frame

    async def wait(self, timeout_s: float) -> None:
        """Until a discrete change arrives or ``timeout_s`` passes (points wait for the flush)."""
        await wait_set(self._wake, timeout_s)

    def stats(self) -> dict[str, int]:
        return {"coalesced": self.coalesced, "dropped": self.dropped, "delivered": self.delivered}


class StreamHub:
    """Owned by the event loop. :meth:`publish_alarm` is the hook the alarm service calls."""

    def __init__(
        self,
        stream: CommittedStream,
        *,
        max_series: int = DEFAULT_MAX_SERIES,
        max_events: int = DEFAULT_MAX_EVENTS,
    ) -> None:
        self._stream = stream
        self._clients: dict[str, dict[int, Client]] = {}
        self._ids = itertools.count(1)
        self._subscribed = False
        self.max_series = max_series
        self.max_events = max_events

    def connect(self, tenant: str, devices: Collection[str] | None = None) -> Client:
        if not self._subscribed:
            # Once, on the first tab: a platform nobody watches pays nothing.
            self._stream.subscribe(SUBSCRIBER, self.on_committed)
            self._subscribed = True
        client = Client(
            next(self._ids),
            tenant,
            frozenset(devices) if devices is not None else None,
            self.max_series,
            self.max_events,
        )
        self._clients.setdefault(tenant, {})[client.id] = client
        return client

    def disconnect(self, client: Client) -> None:
        tenant = self._clients.get(client.tenant)
        if tenant is not None:
            tenant.pop(client.id, None)
            if not tenant:
                del self._clients[client.tenant]

    def clients(self, tenant: str | None = None) -> int:
        if tenant is not None:
            return len(self._clients.get(tenant, {}))
        return sum(len(c) for c in self._clients.values())

    async def close(self) -> None:
        self._clients.clear()
        if self._subscribed:
            await self._stream.unsubscribe(SUBSCRIBER)
            self._subscribed = False

    def on_committed(self, item: Committed) -> None:
        if not self._clients:
            return
        if isinstance(item, CommittedBatch):
            if not item.historical:  # backfill is not "now"
                self._points(item.points)
        elif isinstance(item, CommittedEvents) and not item.historical:
            self._events(item)

    def _points(self, points: pa.Table) -> None:
        for tenant, clients in self._clients.items():
            mine = points.filter(pc.equal(points["tenant"], tenant))
            if not mine.num_rows:
                continue
            cols = mine.select(["tenant", "device", "metric", "ts", "value", "text"])
            seen = pa.repeat(pa.scalar(0, pa.int64()), cols.num_rows)  # (unused here)
            latest = latest_per_series(cols.append_column("seen", seen))
            rows = zip(
                latest["device"].to_pylist(),
                latest["metric"].to_pylist(),
                latest["ts"].to_pylist(),
                latest["value"].to_pylist(),
                latest["text"].to_pylist(),
                strict=True,
            )
            for device, metric, ts, value, text in rows:
                shown = value if text is None else text
                for client in clients.values():
                    if client.wants(device):
                        client.offer_point(device, metric, ts, shown)

    def _events(self, item: CommittedEvents) -> None:
        for row in item.rows:
            online = STATUS_EVENTS.get(row.event)
            if online is None:
                continue
            payload = {"device": row.device, "online": online, "ts": row.ts}
            for client in self._clients.get(row.tenant, {}).values():
                if client.wants(row.device):
                    client.offer_event("device", payload)

    def publish_alarm(self, tenant: str, alarm: Mapping[str, Any]) -> None:
        """An alarm was raised, acknowledged, cleared ...: every tab of ``tenant`` hears it
        (a device filter applies when the alarm names a device)."""
        payload = dict(alarm)
        device = payload.get("device")
        for client in self._clients.get(tenant, {}).values():
            if not isinstance(device, str) or client.wants(device):
                client.offer_event("alarm", payload)


def hello(client: Client) -> dict[str, Any]:
    return {"client": client.id, "tenant": client.tenant, "at": now_ms()}
