"""The events devices raised (``device_events``, written by the MQTT ingest), newest first:
one device's, or the whole tenant's (the console's alarm list).

A device that does not exist is 404 like every object; its tenant is checked first by the
reader dependency, so another tenant's device is indistinguishable from a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from helan.api.deps import Meta, Paging, Reader
from helan.api.routers.telemetry import TimeParam, parse_time
from helan.api.schemas.common import Output, Page
from helan.core.thing import EventLevel
from helan.services import events as service
from helan.services.paging import Listing
from helan.storage.meta.models import DeviceEvent

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["events"])


class EventOut(Output):
    # The event's natural key ``<device>:<event>:<ts>``, unique in the tenant. The database's
    # row number is shared by every tenant, so showing it would tell one tenant the others'
    # event volume.
    id: str
    device: str
    ts: int
    event: str
    level: EventLevel
    data: dict[str, Any]
    received_at: datetime


def _out(row: DeviceEvent) -> EventOut:
    return EventOut.model_validate(
        {
            "id": f"{row.device_id}:{row.event}:{row.ts}",
            "device": row.device_id,
            "ts": row.ts,
            "event": row.event,
            "level": row.level,
            "data": row.data,
            "received_at": row.received_at,
        }
    )


Level = Annotated[EventLevel | None, Query(description="Only this level")]
EventName = Annotated[str | None, Query(max_length=64, description="Only this event")]


@dataclass
class EventFilters:
    """``start`` (inclusive) and ``end`` (exclusive) bound the event's own time; either may be
    left out; ``event`` and ``level`` narrow further."""

    start: TimeParam = None
    end: TimeParam = None
    event: EventName = None
    level: Level = None

    def parsed(self) -> service.EventFilter:
        return service.EventFilter(
            start_ms=parse_time("start", self.start, 0) if self.start else None,
            end_ms=parse_time("end", self.end, 0) if self.end else None,
            event=self.event,
            level=self.level,
        )


Filters = Annotated[EventFilters, Depends()]


def _page(found: Listing[DeviceEvent], paging: Paging) -> Page[EventOut]:
    items = [_out(r) for r in found.rows]
    return Page(items=items, total=found.total, limit=paging.limit, offset=paging.offset)


@router.get("/devices/{device}/events", summary="The device's events, newest first")
def list_events(
    tenant: str,
    device: str,
    _: Reader,
    meta: Meta,
    paging: Annotated[Paging, Depends()],
    filters: Filters,
) -> Page[EventOut]:
    """Filters: ``start``, ``end``, ``event``, ``level``. Sort fields: ``-ts`` (default),
    ``ts``, ``event``, ``level``, ``received_at``."""
    found = service.list_device_events(meta, tenant, device, paging, filters.parsed())
    return _page(found, paging)


@router.get("/events", summary="Every device's events, newest first")
def list_tenant_events(
    tenant: str,
    _: Reader,
    meta: Meta,
    paging: Annotated[Paging, Depends()],
    filters: Filters,
) -> Page[EventOut]:
    """The tenant's alarm list: the same filters and sort fields as a device's events."""
    return _page(service.list_tenant_events(meta, tenant, paging, filters.parsed()), paging)
