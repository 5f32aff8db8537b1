"""Retention: each tenant's telemetry and device events older than its ``retention_days`` are
dropped, hourly, by a job of the platform's scheduler (:mod:`helan.jobs`).

The stores do the deleting (raw points and roll-ups alike, events in chunks); this job only
decides the cut-off per tenant, so the policy lives with the tenant in the metadata and nowhere
else.
"""

from __future__ import annotations

import asyncio
import logging
import time

import sqlalchemy as sa

from helan.jobs.spec import Interval, JobSpec
from helan.storage.meta import MetaStore
from helan.storage.meta.events import EventStore
from helan.storage.meta.models import Tenant
from helan.storage.telemetry.base import TelemetryStore

log = logging.getLogger(__name__)

DAY_MS = 86_400_000
RETENTION_JOB = "retention"


def apply_retention(
    meta: MetaStore, store: TelemetryStore, now_ms: int | None = None
) -> dict[str, int]:
    """Drop every tenant's points and events older than its retention; returns rows (points
    plus events) removed per tenant."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    with meta.session() as s:
        policies = [(t.id, t.retention_days) for t in s.scalars(sa.select(Tenant))]
    events = EventStore(meta)
    removed: dict[str, int] = {}
    for tenant, days in policies:
        cutoff = now - days * DAY_MS
        removed[tenant] = store.delete_before(tenant, cutoff) + events.delete_before(tenant, cutoff)
    return removed


def retention_job(meta: MetaStore, store: TelemetryStore, *, every_s: float = 3600) -> JobSpec:
    """The scheduler's job running :func:`apply_retention` at start and then every ``every_s``
    seconds, in a worker thread (the deletes block)."""

    async def run() -> None:
        removed = await asyncio.to_thread(apply_retention, meta, store)
        if any(removed.values()):
            log.info("retention removed %s", removed)

    return JobSpec(id=RETENTION_JOB, trigger=Interval(seconds=every_s, at_start=True), run=run)
