"""What a device credential may publish and subscribe to on the embedded broker, as NATS subject
permissions (computed once per connection by the auth callout).

A device: everything under its own ``helan/v1/{tenant}/{device}/`` and those of the devices it is
the gateway of, and, as a Sparkplug edge node (group = tenant, edge node id = device id), its
node's and devices' births, data and deaths up and its commands down. The ingest service: it
receives everything and publishes only error reports, commands, and Sparkplug commands.
Kept in this one function pair until the platform's single authorisation policy takes it over.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from helan.core.thing import DeviceDirectory, DeviceRef
from helan.protocol.topics import ROOT, SPARKPLUG_DOWN, SPARKPLUG_NAMESPACE, SPARKPLUG_UP


@runtime_checkable
class _Gateways(Protocol):
    """Directories that know each gateway's devices (the metadata directory does)."""

    def children(self, tenant: str, gateway: str) -> frozenset[str]: ...


def subject(topic_filter: str) -> str:
    """NATS's MQTT bridge maps topic levels to subject tokens: ``/`` -> ``.``, a ``.`` inside a
    level -> ``//``, ``+`` -> ``*`` and ``#`` -> ``>``."""
    levels = (level.replace(".", "//") for level in topic_filter.split("/"))
    return ".".join(levels).replace("+", "*").replace("#", ">")


def _sparkplug(tenant: str, device: str, kinds: Iterable[str]) -> list[str]:
    out: list[str] = []
    for kind in sorted(kinds):
        node = subject(f"{SPARKPLUG_NAMESPACE}/{tenant}/{kind}/{device}")
        out += [node, f"{node}.>"]
    return out


def device_rights(directory: DeviceDirectory, ref: DeviceRef) -> tuple[list[str], list[str]]:
    """(publish, subscribe) subjects of ``ref``'s credential. Gateway children are read now: a
    device reassigned to a gateway later is the gateway's once the gateway reconnects."""
    children = (
        directory.children(ref.tenant, ref.device) if isinstance(directory, _Gateways) else ()
    )
    devices = [ref.device, *sorted(children)]
    own = [subject(f"{ROOT}/{ref.tenant}/{d}/#") for d in devices]
    # An MQTT "a/b/#" filter is also a NATS subscription to "a.b" itself.
    parents = [subject(f"{ROOT}/{ref.tenant}/{d}") for d in devices]
    publish = own + _sparkplug(ref.tenant, ref.device, SPARKPLUG_UP)
    receive = own + parents + _sparkplug(ref.tenant, ref.device, SPARKPLUG_DOWN)
    return publish, receive


def service_rights() -> tuple[list[str], list[str]]:
    """(publish, subscribe) subjects of the platform's ingest and command services."""
    publish = [subject(f"{ROOT}/+/+/errors"), subject(f"{ROOT}/+/+/commands/+")]
    publish += [subject(f"{SPARKPLUG_NAMESPACE}/+/{k}/#") for k in sorted(SPARKPLUG_DOWN)]
    return publish, [">"]
