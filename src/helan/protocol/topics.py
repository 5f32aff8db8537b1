"""The native topic tree ``helan/v1/{tenant}/{device}/{kind}``. A device's credential fixes the
``{tenant}/{device}`` part it may use; the payload never decides whose data it is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from helan.core.ids import DEVICE_ID, TENANT_ID

ROOT = "helan/v1"
SPARKPLUG_NAMESPACE = "spBv1.0"
# Sparkplug B message types an edge node publishes, and those the host sends down to it.
SPARKPLUG_UP = frozenset({"NBIRTH", "NDEATH", "NDATA", "DBIRTH", "DDEATH", "DDATA"})
SPARKPLUG_DOWN = frozenset({"NCMD", "DCMD"})
Kind = Literal["telemetry", "attributes", "events"]
INGEST_KINDS: tuple[Kind, ...] = ("telemetry", "attributes", "events")
_FORBIDDEN = ("+", "#", "\x00", "..")


class BadTopic(ValueError):
    """A topic that is not ``helan/v1/{tenant}/{device}/{telemetry|attributes|events}``."""


@dataclass(frozen=True, slots=True)
class DeviceTopic:
    tenant: str
    device: str
    kind: Kind


def parse_topic(topic: str) -> DeviceTopic:
    for bad in _FORBIDDEN:
        if bad in topic:
            raise BadTopic(f"topic {topic[:200]!r} contains {bad!r}")
    parts = topic.split("/")
    if len(parts) != 5 or f"{parts[0]}/{parts[1]}" != ROOT:
        raise BadTopic(f"topic {topic[:200]!r} is not {ROOT}/<tenant>/<device>/<kind>")
    _, _, tenant, device, kind = parts
    if not TENANT_ID.fullmatch(tenant):
        raise BadTopic(f"topic {topic[:200]!r}: invalid tenant id {tenant!r}")
    if not DEVICE_ID.fullmatch(device):
        raise BadTopic(f"topic {topic[:200]!r}: invalid device id {device!r}")
    for known in INGEST_KINDS:
        if kind == known:
            return DeviceTopic(tenant, device, known)
    raise BadTopic(f"topic {topic[:200]!r}: kind must be one of {', '.join(INGEST_KINDS)}")


def device_prefix(tenant: str, device: str) -> str:
    """Everything a device may publish or subscribe to starts with this."""
    return f"{ROOT}/{tenant}/{device}/"


def errors_topic(tenant: str, device: str) -> str:
    return f"{ROOT}/{tenant}/{device}/errors"


def ingest_filters(tenant: str = "+", share_group: str | None = None) -> list[str]:
    """Subscriptions of the ingest service (optionally a shared subscription for N workers)."""
    filters = [f"{ROOT}/{tenant}/+/{kind}" for kind in INGEST_KINDS]
    if share_group:
        return [f"$share/{share_group}/{f}" for f in filters]
    return filters
