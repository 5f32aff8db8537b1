"""The events devices raised (``device_events``, written by ingest), newest first by default:
one device's, or the whole tenant's (the console's alarm list)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from helan.core.errors import NotFound, ValidationFailed
from helan.services.paging import Listing, PageRequest, listing
from helan.storage.meta import MetaStore
from helan.storage.meta.models import Device, DeviceEvent

SORT = {
    "ts": DeviceEvent.ts,
    "event": DeviceEvent.event,
    "level": DeviceEvent.level,
    "received_at": DeviceEvent.received_at,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class EventFilter:
    """``start_ms`` (inclusive) and ``end_ms`` (exclusive) bound the event's own time (epoch
    ms); None leaves that side open. ``event`` and ``level`` narrow further."""

    start_ms: int | None = None
    end_ms: int | None = None
    event: str | None = None
    level: str | None = None

    def where(self) -> list[sa.ColumnElement[bool]]:
        start, end = self.start_ms, self.end_ms
        if start is not None and end is not None and start > end:
            raise ValidationFailed(f"start {start} is after end {end}")
        where: list[sa.ColumnElement[bool]] = []
        if start is not None:
            where.append(DeviceEvent.ts >= start)
        if end is not None:
            where.append(DeviceEvent.ts < end)
        if self.event is not None:
            where.append(DeviceEvent.event == self.event)
        if self.level is not None:
            where.append(DeviceEvent.level == self.level)
        return where


def _list(
    meta: MetaStore, where: list[sa.ColumnElement[bool]], paging: PageRequest
) -> Listing[DeviceEvent]:
    stmt = sa.select(DeviceEvent).where(*where)
    return listing(meta, stmt, paging, sort=SORT, default="-ts", tiebreak=[DeviceEvent.id.desc()])


def list_device_events(
    meta: MetaStore, tenant: str, device: str, paging: PageRequest, filters: EventFilter
) -> Listing[DeviceEvent]:
    """NotFound for a device the tenant does not have."""
    with meta.session() as s:
        if s.get(Device, (tenant, device)) is None:
            raise NotFound(f"device {device!r} not found")
    where = [DeviceEvent.tenant_id == tenant, DeviceEvent.device_id == device]
    return _list(meta, where + filters.where(), paging)


def list_tenant_events(
    meta: MetaStore, tenant: str, paging: PageRequest, filters: EventFilter
) -> Listing[DeviceEvent]:
    """Every device's events of the tenant, with the same filters and sort fields."""
    return _list(meta, [DeviceEvent.tenant_id == tenant, *filters.where()], paging)
