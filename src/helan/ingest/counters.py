"""Ingest counters per tenant (what an enterprise sees of its own data) and for the writer
(batches and write latency, shared by every tenant because one batch mixes tenants).

The same numbers reach Prometheus through one collector that reads every live
:class:`IngestCounters` at scrape time (``helan_ingest_*``), so nothing is counted twice; the
write latency is also observed into a real histogram, which percentiles over a window are not.
"""

from __future__ import annotations

import weakref
from collections import Counter, deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, Metric

from helan.observe.metrics import BATCH_WRITE_SECONDS


@dataclass(slots=True)
class TenantCounters:
    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    messages: int = 0
    events: int = 0  # events accepted: valid and durable (a redelivered one counts again)
    events_rejected: Counter[str] = field(default_factory=Counter)


class IngestCounters:
    """Updated from the event loop only, so plain integers suffice. Every instance is exported
    to Prometheus while it lives (held weakly: tests create many)."""

    def __init__(self, latency_window: int = 2048) -> None:
        self._tenants: dict[str, TenantCounters] = {}
        self.batches = 0
        self.points_written = 0
        self.write_failures = 0
        self.events_written = 0  # new rows in device_events
        self.event_duplicates = 0  # events already stored (redelivered messages)
        self.event_write_failures = 0
        self._latency_s: deque[float] = deque(maxlen=latency_window)
        _EXPORTER.live.add(self)

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
        BATCH_WRITE_SECONDS.observe(seconds)

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


class _Exporter:
    """A Prometheus collector over the live counters, summed (one per process in production).

    Reads the counters on the scrape, which runs on the event loop like every update."""

    def __init__(self) -> None:
        self.live: weakref.WeakSet[IngestCounters] = weakref.WeakSet()

    def collect(self) -> Iterator[Metric]:
        tenant, reason = ["tenant"], ["tenant", "reason"]
        families = {
            "accepted": CounterMetricFamily(
                "helan_ingest_points_accepted", "Points written, by tenant.", labels=tenant
            ),
            "rejected": CounterMetricFamily(
                "helan_ingest_points_rejected",
                "Points (or whole messages) refused, by reason.",
                labels=reason,
            ),
            "messages": CounterMetricFamily(
                "helan_ingest_messages", "Telemetry messages and requests received.", labels=tenant
            ),
            "events": CounterMetricFamily(
                "helan_ingest_events_accepted", "Events valid and durable.", labels=tenant
            ),
            "events_rejected": CounterMetricFamily(
                "helan_ingest_events_rejected", "Events refused, by reason.", labels=reason
            ),
        }
        writer = {
            "batches": "Telemetry batches written.",
            "points_written": "Points written in batches (every tenant).",
            "write_failures": "Telemetry batch writes that failed.",
            "events_written": "New event rows stored.",
            "event_duplicates": "Events already stored (redelivered messages).",
            "event_write_failures": "Event batch writes that failed.",
        }
        per_tenant: dict[str, Counter[tuple[str, ...]]] = {name: Counter() for name in families}
        totals: Counter[str] = Counter()
        for counters in list(self.live):
            for name in writer:
                totals[name] += getattr(counters, name)
            for t, c in counters._tenants.items():
                per_tenant["accepted"][(t,)] += c.accepted
                per_tenant["messages"][(t,)] += c.messages
                per_tenant["events"][(t,)] += c.events
                for r, n in c.rejected.items():
                    per_tenant["rejected"][(t, r)] += n
                for r, n in c.events_rejected.items():
                    per_tenant["events_rejected"][(t, r)] += n
        for name, family in families.items():
            for labels, value in sorted(per_tenant[name].items()):
                family.add_metric(list(labels), value)
            yield family
        for name, help_text in writer.items():
            yield CounterMetricFamily(f"helan_ingest_{name}", help_text, value=totals[name])


_EXPORTER = _Exporter()
REGISTRY.register(_EXPORTER)
