"""Retention: each tenant's telemetry and device events older than its ``retention_days`` are
dropped, hourly.

The stores do the deleting (raw points and roll-ups alike, events in chunks); this job only
decides the cut-off per tenant, so the policy lives with the tenant in the metadata and nowhere
else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import sqlalchemy as sa

from helan.storage.meta import MetaStore
from helan.storage.meta.events import EventStore
from helan.storage.meta.models import Tenant
from helan.storage.telemetry.base import TelemetryStore

log = logging.getLogger(__name__)

DAY_MS = 86_400_000


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


class RetentionJob:
    """Runs :func:`apply_retention` now and then every ``every_s`` seconds in a worker thread."""

    def __init__(self, meta: MetaStore, store: TelemetryStore, *, every_s: float = 3600) -> None:
        self._meta, self._store, self._every_s = meta, store, every_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="helan-retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                removed = await asyncio.to_thread(apply_retention, self._meta, self._store)
                if any(removed.values()):
                    log.info("retention removed %s", removed)
            except Exception:  # a failed pass is retried next time; the platform keeps running
                log.exception("retention pass failed")
            await asyncio.sleep(self._every_s)
