"""Ingest counters per tenant (what an enterprise sees of its own data) and for the writer
(batches and write latency, shared by every tenant because one batch mixes tenants)."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np


@dataclass(slots=True)
class TenantCounters:
    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    messages: int = 0
    events: int = 0  # events accepted: valid and durable (a redelivered one counts again)
    events_rejected: Counter[str] = field(default_factory=Counter)


class IngestCounters:
    """Updated from the event loop only, so plain integers suffice."""

    def __init__(self, latency_window: int = 2048) -> None:
        self._tenants: dict[str, TenantCounters] = {}
        self.batches = 0
        self.points_written = 0
        self.write_failures = 0
        self.events_written = 0  # new rows in device_events
        self.event_duplicates = 0  # events already stored (redelivered messages)
        self.event_write_failures = 0
        self._latency_s: deque[float] = deque(maxlen=latency_window)

    def _tenant(self, tenant: str) -> TenantCounters:
        counters = self._tenants.get(tenant)
        if counters is None:
            counters = self._tenants[tenant] = TenantCounters()
        return counters

    def message(self, tenant: str, n: int = 1) -> None:
        self._tenant(tenant).messages += n

    def events(self, tenant: str, n: int) -> None:
        self._tenant(tenant).events += n

    def events_rejected(self, tenant: str, reasons: Mapping[str, int]) -> None:
        self._tenant(tenant).events_rejected.update(reasons)

    def events_written_batch(self, rows: int, new: int) -> None:
        self.events_written += new
        self.event_duplicates += rows - new

    def event_write_failed(self) -> None:
        self.event_write_failures += 1

    def accepted(self, tenant: str, points: int) -> None:
        self._tenant(tenant).accepted += points

    def rejected(self, tenant: str, reasons: Mapping[str, int]) -> None:
        self._tenant(tenant).rejected.update(reasons)

    def batch_written(self, points: int, seconds: float) -> None:
        self.batches += 1
        self.points_written += points
        self._latency_s.append(seconds)

    def write_failed(self) -> None:
        self.write_failures += 1

    def snapshot(self, tenant: str) -> dict[str, object]:
        mine = self._tenants.get(tenant) or TenantCounters()
        latency = np.array(self._latency_s) * 1000.0

        def ms(q: float) -> float | None:
            return round(float(np.percentile(latency, q)), 3) if len(latency) else None

        return {
            "tenant": tenant,
            "accepted": mine.accepted,
            "rejected": sum(mine.rejected.values()),
            "rejected_by_reason": dict(mine.rejected),
            "messages": mine.messages,
            "events": mine.events,
            "events_rejected": sum(mine.events_rejected.values()),
            "events_rejected_by_reason": dict(mine.events_rejected),
            "writer": {
                "batches": self.batches,
                "points_written": self.points_written,
                "write_failures": self.write_failures,
                "write_ms_p50": ms(50),
                "write_ms_p99": ms(99),
                "write_ms_max": ms(100),
                "events_written": self.events_written,
                "event_duplicates": self.event_duplicates,
                "event_write_failures": self.event_write_failures,
            },
        }
