"""What the data path needs to know about a device: its tenant, id and thing model.

The metadata store owns devices and device types; ingest sees them only through
:class:`DeviceDirectory`, a read-mostly in-memory view, so validation never waits on SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

DataType = Literal["float", "int", "bool", "string"]
EventLevel = Literal["info", "warning", "fault"]
EVENT_LEVELS: tuple[EventLevel, ...] = ("info", "warning", "fault")


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricSpec:
    """A thing-model property: a metric a device of this type may report."""

    name: str
    type: DataType = "float"
    unit: str | None = None
    min: float | None = None
    max: float | None = None


def typed_value(value: float | None, text: str | None, spec: MetricSpec | None) -> object:
    """A stored point as its thing-model type: the store keeps bools and ints as float64, an
    API client expects ``true`` and ``3``, not ``1.0`` and ``3.0``."""
    if text is not None or value is None:
        return text
    if spec is not None and spec.type == "bool":
        return value != 0.0
    if spec is not None and spec.type == "int":
        return int(value)
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class EventSpec:
    """A thing-model event: what a device may raise, how serious it is (copied onto every stored
    event, so a later change of the model does not rewrite history) and its typed outputs."""

    name: str
    level: EventLevel = "info"
    outputs: Mapping[str, MetricSpec] = field(default_factory=dict)
    required: frozenset[str] = frozenset()


def event_specs(events: Iterable[Mapping[str, Any]]) -> dict[str, EventSpec]:
    """Event specs from thing-model documents (``EventSpec`` of the API, as stored)."""
    specs: dict[str, EventSpec] = {}
    for e in events:
        outputs = {
            p["name"]: MetricSpec(
                name=p["name"], type=p.get("type", "float"), min=p.get("min"), max=p.get("max")
            )
            for p in e.get("outputs") or []
        }
        required = frozenset(p["name"] for p in e.get("outputs") or [] if p.get("required", True))
        level = e.get("level", "info")
        specs[e["name"]] = EventSpec(
            name=e["name"],
            level=level if level in EVENT_LEVELS else "info",
            outputs=outputs,
            required=required,
        )
    return specs


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceRef:
    tenant: str
    device: str
    device_type: str | None
    metrics: Mapping[str, MetricSpec] = field(default_factory=dict)
    events: Mapping[str, EventSpec] = field(default_factory=dict)
    enabled: bool = True
    gateway: str | None = None  # the device that connects on this one's behalf


class DeviceDirectory(Protocol):
    """Lookups the ingest path makes for every message; implementations answer from memory."""

    def lookup(self, tenant: str, device: str) -> DeviceRef | None:
        """The device, or None when the tenant has no such device."""
        ...

    def authenticate(self, username: str, password: str) -> DeviceRef | None:
        """The device whose credential this is (MQTT username/password, HTTP device token)."""
        ...
