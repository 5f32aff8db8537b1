"""What the data path needs to know about a device: its tenant, id and thing model.

The metadata store owns devices and device types; ingest sees them only through
:class:`DeviceDirectory`, a read-mostly in-memory view, so validation never waits on SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

DataType = Literal["float", "int", "bool", "string"]


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricSpec:
    """A thing-model property: a metric a device of this type may report."""

    name: str
    type: DataType = "float"
    unit: str | None = None
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceRef:
    tenant: str
    device: str
    device_type: str | None
    metrics: Mapping[str, MetricSpec] = field(default_factory=dict)
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
