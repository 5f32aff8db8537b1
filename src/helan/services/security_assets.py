"""Alerts of the security centre: a ``security_advisory`` device event for each device a new
advisory affects (once per device and advisory: ``security_advisory_alerts`` remembers
them), raised through the ingest facade so that a tenant's rule on that event alarms."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from helan.core.errors import HelanError
from helan.core.events import EventRow
from helan.ingest.pipeline import IngestPipeline
from helan.jobs import Interval, JobSpec
from helan.security.advisories.matching import Match
from helan.security.advisories.store import import_advisory, inventory, matches
from helan.security.principal import Principal
from helan.storage.meta import MetaStore
from helan.storage.meta.models_security_assets import SecurityAdvisory, SecurityAdvisoryAlert

EVENT = "security_advisory"
log = logging.getLogger(__name__)


def _level(m: Match) -> str:
    return "fault" if m.kev or (m.cvss or 0.0) >= 9.0 else "warning"


async def raise_alerts(meta: MetaStore, pipeline: IngestPipeline, tracking_id: str) -> int:
    """A ``security_advisory`` event for each device the advisory affects that has not had
    one for it yet; the number raised. The events are made durable first, then remembered: a
    failure of the event store raises nothing and remembers nothing (the next import tries
    again); a crash between the two may raise a device's event twice, never lose it."""
    async with _alerting():
        return await _raise_alerts(meta, pipeline, tracking_id)


_LOCKS: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}


def _alerting() -> asyncio.Lock:
    """One alerting pass at a time per process (the API's import and the sweep would
    otherwise both see an affected device as not yet alerted)."""
    loop = asyncio.get_running_loop()
    lock = _LOCKS.get(loop)
    if lock is None:
        for old in [lp for lp in _LOCKS if lp.is_closed()]:
            del _LOCKS[old]
        lock = _LOCKS[loop] = asyncio.Lock()
    return lock


async def _raise_alerts(meta: MetaStore, pipeline: IngestPipeline, tracking_id: str) -> int:
    found = await asyncio.to_thread(
        matches, meta, inventory(meta, None), advisory=tracking_id, status="affected"
    )
    now = int(time.time() * 1000)
    rows: list[EventRow] = []
    with meta.session() as s:
        known = {
            (t, d)
            for t, d in s.execute(
                sa.select(SecurityAdvisoryAlert.tenant_id, SecurityAdvisoryAlert.device_id).where(
                    SecurityAdvisoryAlert.tracking_id == tracking_id
                )
            )
        }
        fresh = [m for m in found if (m.tenant, m.device) not in known]
    for m in fresh:
        rows.append(
            EventRow(
                tenant=m.tenant,
                device=m.device,
                ts=now,
                event=EVENT,
                level=_level(m),
                data={
                    "advisory": m.tracking_id,
                    "version": m.version,
                    "title": m.title[:200],
                    "cvss": m.cvss,
                    "cves": ",".join(m.cves)[:500],
                    "kev": m.kev,
                },
            )
        )
    if not rows:
        return 0
    await pipeline.submit_events(rows)
    with meta.session() as s:
        for m in fresh:
            s.merge(
                SecurityAdvisoryAlert(
                    tenant_id=m.tenant,
                    device_id=m.device,
                    tracking_id=m.tracking_id,
                    version=m.version,
                    raised_ms=now,
                )
            )
    return len(rows)


@dataclass(frozen=True, slots=True)
class FolderImport:
    imported: int  # new advisories or newer versions
    refused: int
    alerts: int


async def import_folder(
    meta: MetaStore, pipeline: IngestPipeline, principal: Principal, folder: Path
) -> FolderImport:
    """Import every ``*.json`` CSAF document under ``folder`` as the API does: a new latest
    version raises the events of the devices it affects. A refused document is logged and
    skipped, so one bad file does not keep the others out."""
    imported = refused = alerts = 0
    paths = await asyncio.to_thread(lambda: sorted(folder.rglob("*.json")))
    for path in paths:
        data = await asyncio.to_thread(path.read_bytes)
        try:
            got = await asyncio.to_thread(import_advisory, meta, principal, data, source=str(path))
        except HelanError as exc:
            refused += 1
            log.warning("advisory %s refused: %s: %s", path, exc.code, exc.message)
            continue
        if got.latest and got.outcome == "new":
            imported += 1
            alerts += await raise_alerts(meta, pipeline, got.tracking_id)
    return FolderImport(imported, refused, alerts)


SWEEP_JOB = "security-advisory-alerts"
SWEEP_EVERY_S = 60.0
FULL_SWEEP_EVERY = 60  # sweeps: once an hour every latest advisory, for assets new since


@dataclass(slots=True)
class _Sweeps:
    since: datetime | None = None  # newest import seen
    count: int = 0


def advisory_alert_job(meta: MetaStore, pipeline: IngestPipeline) -> JobSpec:
    """Alerts for advisories stored by any process (``helan security import``, another API
    process, a feed): every minute the latest versions imported since the last sweep, and once
    an hour all of them, so a device added or changed after its advisory is alerted too.
    :func:`raise_alerts` remembers what it raised, so a sweep never raises an alert twice."""
    state = _Sweeps()

    def due() -> list[str]:
        since = state.since
        query = sa.select(SecurityAdvisory.tracking_id, SecurityAdvisory.imported_at).where(
            SecurityAdvisory.latest.is_(True)
        )
        if since is not None and state.count % FULL_SWEEP_EVERY != 0:
            query = query.where(SecurityAdvisory.imported_at > since)
        with meta.session() as s:
            rows = s.execute(query).all()
        stamps = [at for _, at in rows] + ([since] if since is not None else [])
        state.since = max(stamps) if stamps else datetime.now(UTC)
        state.count += 1
        return sorted({tid for tid, _ in rows})

    async def sweep() -> None:
        ids = await asyncio.to_thread(due)
        raised = 0
        for tracking_id in ids:
            raised += await raise_alerts(meta, pipeline, tracking_id)
        if raised:
            log.info("advisory sweep: %d alerts over %d advisories", raised, len(ids))

    return JobSpec(id=SWEEP_JOB, trigger=Interval(seconds=SWEEP_EVERY_S, at_start=True), run=sweep)
