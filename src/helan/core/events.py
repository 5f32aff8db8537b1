"""Device events as the ingest hands them to storage: validated against the thing model, typed
as the model declares, with the level copied from it.

Storage is a protocol so that the MQTT ingest depends on "something that makes events durable"
and not on the metadata database (:class:`helan.storage.meta.events.EventStore` is the one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class EventRow:
    tenant: str
    device: str
    ts: int  # epoch ms, the device's time (or the arrival time when it sent none)
    event: str
    level: str
    data: dict[str, object]


class EventSink(Protocol):
    def write(self, rows: Sequence[EventRow]) -> list[EventRow]:
        """Make ``rows`` durable before returning; an event already stored under the same
        (tenant, device, event, ts) is skipped (MQTT QoS 1 redelivers). Returns the rows that
        were new. Raises on any failure: then none of ``rows`` counts as stored."""
        ...
