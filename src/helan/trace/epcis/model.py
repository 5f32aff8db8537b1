"""A captured EPCIS event as the store keeps it: the fields queries filter on, the
identifiers it names with their role, and the event exactly as it was captured."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

# How an event names an identifier: its objects (epcList/quantityList), a parentID, children
# (childEPCs/childQuantityList), a transformation's inputs and outputs.
Role = Literal["epc", "parent", "child", "input", "output"]


@dataclass(frozen=True, slots=True)
class EpcRef:
    role: Role
    epc: str  # as written in the event
    key: str  # helan.trace.identifiers.key(epc)
    quantity: float | None = None  # set for a quantity list's class
    uom: str | None = None
    is_class: bool = False


@dataclass(frozen=True, slots=True)
class Event:
    event_id: str
    event_type: str
    event_time: datetime  # UTC
    action: str | None
    biz_step: str | None  # canonical (bare CBV term or user URI)
    disposition: str | None
    read_point: str | None
    biz_location: str | None
    refs: tuple[EpcRef, ...]
    body: bytes  # the event's JSON exactly as captured
    context: bytes  # the capture document's @context (JSON): the event's terms
    declared_error: bool = False
