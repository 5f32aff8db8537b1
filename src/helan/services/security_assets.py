"""Alerts of the security centre: a ``security_advisory`` device event for each device a new
advisory affects (once per device and advisory: ``security_advisory_alerts`` remembers
them), raised through the ingest facade so that a tenant's rule on that event alarms."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from helan.core.errors import HelanError
from helan.core.events import EventRow
from helan.ingest.pipeline import IngestPipeline
from helan.security.advisories.matching import Match
from helan.security.advisories.store import import_advisory, inventory, matches
from helan.security.principal import Principal
from helan.storage.meta import MetaStore
from helan.storage.meta.models_security_assets import SecurityAdvisoryAlert

EVENT = "security_advisory"
log = logging.getLogger(__name__)


def _level(m: Match) -> str:
    return "fault" if m.kev or (m.cvss or 0.0) >= 9.0 else "warning"


async def raise_alerts(meta: MetaStore, pipeline: IngestPipeline, tracking_id: str) -> int:
    """A ``security_advisory`` event for each device the advisory affects that has not had
    one for it yet; the number raised. The events are made durable first, then remembered: a
    failure of the event store raises nothing and remembers nothing (the next import tries
    again); a crash between the two may raise a device's event twice, never lose it."""
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
