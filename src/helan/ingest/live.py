"""Live device state in memory: the latest value of every series and whether each device is
online. The store answers history; this answers "now" without touching it (DESIGN.md: the latest
values of 10,000 series cost seconds in PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from helan.ingest.stream import Committed, CommittedBatch

if TYPE_CHECKING:
    from helan.storage.telemetry.base import TelemetryStore


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(slots=True)
class Latest:
    ts: int
    value: float | None
    text: str | None


@dataclass(slots=True)
class DeviceLive:
    connected: bool = False
    last_seen_ms: int | None = None
    values: dict[str, Latest] = field(default_factory=dict)
    attributes: dict[str, object] = field(default_factory=dict)


# Written points wait as Arrow tables and are merged into the per-device state when the state is
# read or this many have queued: with many distinct devices nearly every written point is its own
# series, and one vectorised reduction of several batches leaves far fewer rows to merge in Python.
FOLD_ROWS = 500_000
_SERIES = ["tenant", "device", "metric"]


def latest_per_series(points: pa.Table) -> pa.Table:
    """Newest point (and newest ``seen``) of each (tenant, device, metric) in ``points``."""
    aggs = [("ts", "max"), ("ts", "last"), ("value", "last"), ("text", "last"), ("seen", "max")]
    grouped = points.group_by(_SERIES, use_threads=False).aggregate(aggs)
    if not pc.all(pc.equal(grouped["ts_max"], grouped["ts_last"])).as_py():
        # Out-of-order input: "last" is only the newest once rows are in time order.
        ordered = points.sort_by("ts")
        grouped = ordered.group_by(_SERIES, use_threads=False).aggregate(aggs)
    return pa.table(
        {
            "tenant": grouped["tenant"],
            "device": grouped["device"],
            "metric": grouped["metric"],
            "ts": grouped["ts_max"],
            "value": grouped["value_last"],
            "text": grouped["text_last"],
            "seen": grouped["seen_max"],
        }
    )


class LiveState:
    """Owned by the event loop (not thread-safe)."""

    def __init__(self, offline_after_s: int) -> None:
        self.offline_after_ms = offline_after_s * 1000
        self._tenants: dict[str, dict[str, DeviceLive]] = {}
        self._warm: set[str] = set()
        self._queued: list[pa.Table] = []  # written points not merged yet (see FOLD_ROWS)
        self._queued_rows = 0

    def _device(self, tenant: str, device: str) -> DeviceLive:
        devices = self._tenants.get(tenant)
        if devices is None:
            devices = self._tenants[tenant] = {}
        live = devices.get(device)
        if live is None:
            live = devices[device] = DeviceLive()
        return live

    def seen(self, tenant: str, device: str, at_ms: int | None = None) -> None:
        live = self._device(tenant, device)
        at = at_ms if at_ms is not None else now_ms()
        if live.last_seen_ms is None or at > live.last_seen_ms:
            live.last_seen_ms = at

    def set_connected(self, tenant: str, device: str, connected: bool) -> None:
        live = self._device(tenant, device)
        live.connected = connected
        self.seen(tenant, device)

    def set_attributes(self, tenant: str, device: str, attributes: dict[str, object]) -> None:
        self._device(tenant, device).attributes.update(attributes)

    def on_committed(self, item: Committed) -> None:
        """The live-state subscriber of the committed-data stream: committed points become the
        latest values; backfill (``historical``) never does, and events change nothing here."""
        if isinstance(item, CommittedBatch) and not item.historical:
            self.apply(item.points, seen_ms=item.committed_ms or None)

    def apply(self, points: pa.Table, *, seen_ms: int | None = None) -> None:
        """Take written points (POINT_SCHEMA columns); an older point never replaces a newer.
        Merged lazily (``FOLD_ROWS``), so the ingest pays no Python step per point."""
        if not points.num_rows:
            return
        seen = seen_ms if seen_ms is not None else now_ms()
        queued = points.select([*_SERIES, "ts", "value", "text"]).append_column(
            "seen", pa.repeat(pa.scalar(seen, pa.int64()), points.num_rows)
        )
        self._queued.append(queued)
        self._queued_rows += points.num_rows
        if self._queued_rows >= FOLD_ROWS:
            self._fold()

    def _fold(self) -> None:
        if not self._queued:
            return
        queued, self._queued, self._queued_rows = self._queued, [], 0
        latest = latest_per_series(pa.concat_tables(queued))
        rows = zip(
            latest["tenant"].to_pylist(),
            latest["device"].to_pylist(),
            latest["metric"].to_pylist(),
            latest["ts"].to_pylist(),
            latest["value"].to_pylist(),
            latest["text"].to_pylist(),
            latest["seen"].to_pylist(),
            strict=True,
        )
        for tenant, device, metric, ts, value, text, seen in rows:
            live = self._device(tenant, device)
            current = live.values.get(metric)
            if current is None or ts >= current.ts:
                live.values[metric] = Latest(ts, value, text)
            if live.last_seen_ms is None or seen > live.last_seen_ms:
                live.last_seen_ms = seen

    async def ensure_warm(self, tenant: str, store: TelemetryStore) -> None:
        """Load the tenant's latest values from the store once (after a restart); the query
        runs in a thread, the merge on the loop that owns this object."""
        if tenant in self._warm:
            return
        table = await asyncio.to_thread(store.latest, tenant)
        self.merge_latest(tenant, table)

    def merge_latest(self, tenant: str, table: pa.Table) -> None:
        """Merge ``store.latest(tenant)``; values already live and newer are kept."""
        for device, metric, ts, value, text in zip(
            table["device"].to_pylist(),
            table["metric"].to_pylist(),
            table["ts"].to_pylist(),
            table["value"].to_pylist(),
            table["text"].to_pylist(),
            strict=True,
        ):
            live = self._device(tenant, device)
            current = live.values.get(metric)
            if current is None or ts > current.ts:
                live.values[metric] = Latest(ts, value, text)
        self._warm.add(tenant)

    def online(self, live: DeviceLive, at_ms: int) -> bool:
        if live.connected:
            return True
        return live.last_seen_ms is not None and at_ms - live.last_seen_ms <= self.offline_after_ms

    def device(self, tenant: str, device: str) -> DeviceLive | None:
        self._fold()
        return self._tenants.get(tenant, {}).get(device)

    def devices(self, tenant: str) -> dict[str, DeviceLive]:
        self._fold()
        return dict(self._tenants.get(tenant, {}))

    def tenants(self) -> list[str]:
        self._fold()
        return list(self._tenants)
