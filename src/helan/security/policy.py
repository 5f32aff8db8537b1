"""The platform's authorisation policy: what a credential may do, decided in one place.

This first part holds the device topic rights every broker enforces (the Mosquitto ACL file,
the embedded NATS broker's permissions): a device reads and writes everything under its own
``helan/v1/{tenant}/{device}/`` and those of the devices it is the gateway of; as a Sparkplug
edge node (group = tenant, edge node id = device id) it publishes its node's and devices'
births, data and deaths and receives its commands. The platform's services read the ingest
topics, command replies and all Sparkplug traffic, and write only error reports, commands and
Sparkplug commands. The rights are MQTT topic filters, so each broker translates one list
instead of restating the rules (NATS: :func:`helan.connect.nats.rights.subject`).

API keys: a route belongs to a scope family (its last known path segment after ``{tenant}``;
anything unknown is ``admin``), and a key's ``{family}:read`` / ``{family}:write`` / ``admin``
scopes decide. Apps add families for their routes with :func:`register_families`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from helan.core.ids import DEVICE_ID, TENANT_ID
from helan.protocol.topics import (
    INGEST_KINDS,
    ROOT,
    SPARKPLUG_DOWN,
    SPARKPLUG_NAMESPACE,
    SPARKPLUG_UP,
)


@dataclass(frozen=True, slots=True)
class DeviceTopics:
    """MQTT topic filters a credential may publish to and subscribe to."""

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]

    def may_publish(self, topic: str) -> bool:
        """Whether a publish on the concrete ``topic`` is allowed (wildcards never are)."""
        if not _is_topic(topic):
            return False
        return any(covers(allowed, topic) for allowed in self.publish)

    def may_subscribe(self, topic_filter: str) -> bool:
        """Whether subscribing to ``topic_filter`` is allowed: every topic it can match must be
        matched by one allowed filter (``a/+/c`` under ``a/#`` yes, ``a/#`` under ``a/+`` no)."""
        if not _is_filter(topic_filter):
            return False
        return any(covers(allowed, topic_filter) for allowed in self.subscribe)


def device_topics(tenant: str, device: str, children: Iterable[str] = ()) -> DeviceTopics:
    """Rights of ``device``'s credential in ``tenant``; ``children``: ids of the devices it is the
    gateway of. Raises ValueError for an id that could smuggle a wildcard or extra level."""
    if not TENANT_ID.fullmatch(tenant):
        raise ValueError(f"invalid tenant id {tenant!r}")
    devices = [device, *sorted(set(children) - {device})]
    for d in devices:
        if not DEVICE_ID.fullmatch(d):
            raise ValueError(f"invalid device id {d!r}")
    own = tuple(f"{ROOT}/{tenant}/{d}/#" for d in devices)
    up = tuple(f"{SPARKPLUG_NAMESPACE}/{tenant}/{k}/{device}/#" for k in sorted(SPARKPLUG_UP))
    down = tuple(f"{SPARKPLUG_NAMESPACE}/{tenant}/{k}/{device}/#" for k in sorted(SPARKPLUG_DOWN))
    return DeviceTopics(publish=own + up, subscribe=own + down)


def service_topics() -> DeviceTopics:
    """Rights of the platform's ingest, Sparkplug host and command services (any tenant)."""
    subscribe: tuple[str, ...] = tuple(f"{ROOT}/+/+/{kind}" for kind in INGEST_KINDS)
    subscribe += (f"{ROOT}/+/+/commands/+/reply", f"{SPARKPLUG_NAMESPACE}/#")
    publish: tuple[str, ...] = (f"{ROOT}/+/+/errors", f"{ROOT}/+/+/commands/+")
    publish += tuple(f"{SPARKPLUG_NAMESPACE}/+/{k}/#" for k in sorted(SPARKPLUG_DOWN))
    return DeviceTopics(publish=publish, subscribe=subscribe)


def covers(allowed: str, candidate: str) -> bool:
    """Whether the filter ``allowed`` matches every topic the topic or filter ``candidate`` can
    name, by MQTT rules: ``+`` one level, a final ``#`` the parent level and everything below,
    and a wildcard in the first level never matches a ``$``-topic (``$SYS``)."""
    want, have = allowed.split("/"), candidate.split("/")
    if have[0].startswith("$") and want[0] in ("+", "#"):
        return False
    for i, level in enumerate(want):
        if level == "#":
            return True
        if i >= len(have):
            return False
        if level == "+":
            if have[i] == "#":
                return False
        elif level != have[i]:
            return False
    return len(have) == len(want)


def _is_topic(topic: str) -> bool:
    return 0 < len(topic) <= 65535 and not any(c in topic for c in "+#\x00")


def _is_filter(topic_filter: str) -> bool:
    if not 0 < len(topic_filter) <= 65535 or "\x00" in topic_filter:
        return False
    levels = topic_filter.split("/")
    for i, level in enumerate(levels):
        if level == "#" and i != len(levels) - 1:
            return False
        if level not in ("+", "#") and ("+" in level or "#" in level):
            return False
    return True


# Route segment -> API-key scope family.
_FAMILIES: dict[str, str] = {
    "devices": "devices",
    "device-types": "devices",
    "assets": "devices",
    "asset-tree": "devices",
    # What the devices made: the same people manage both.
    "products": "devices",
    "telemetry": "telemetry",
    "live": "telemetry",
    "ingest": "telemetry",
    # What a device raised is its data, like its telemetry.
    "events": "telemetry",
    # Remote operation moves real machines: a key needs its own scope for it.
    "commands": "commands",
}


def register_families(families: Mapping[str, str]) -> None:
    """Add route segment -> scope family pairs (an app's routes). A segment already mapped to
    another family is refused: an app must not move built-in routes under its own scope."""
    for segment, family in families.items():
        if not segment or "/" in segment or not family or family == "admin":
            raise ValueError(f"bad scope family {segment!r} -> {family!r}")
        if _FAMILIES.get(segment, family) != family:
            raise ValueError(f"route segment {segment!r} is already family {_FAMILIES[segment]!r}")
    _FAMILIES.update(families)


def scope_family(route_path: str) -> str:
    """The scope family of a tenant route template (``/api/v1/tenants/{tenant}/devices/{d}``)."""
    _, _, after = route_path.partition("{tenant}")
    for segment in reversed(after.split("/")):
        name = segment.partition(":")[0]  # a custom method: /products:bulk is products
        if name in _FAMILIES:
            return _FAMILIES[name]
    return "admin"


def key_allows(scopes: Iterable[str], family: str, *, write: bool) -> bool:
    """Whether an API key with ``scopes`` may read (or write) routes of ``family``."""
    held = set(scopes)
    if "admin" in held:
        return True
    if family == "admin":
        return False
    return f"{family}:write" in held or (not write and f"{family}:read" in held)
