"""What a credential may publish and subscribe to on the embedded broker, as NATS subject
permissions (computed once per connection by the auth callout): the rights of the platform's
authorisation policy (:func:`helan.security.policy.device_topics`, ``service_topics``), MQTT
filters translated to subjects. The ingest service receives everything.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from helan.core.thing import DeviceDirectory, DeviceRef
from helan.security.policy import device_topics, service_topics


@runtime_checkable
class _Gateways(Protocol):
    """Directories that know each gateway's devices (the metadata directory does)."""

    def children(self, tenant: str, gateway: str) -> frozenset[str]: ...


def subject(topic_filter: str) -> str:
    """NATS's MQTT bridge maps topic levels to subject tokens: ``/`` -> ``.``, a ``.`` inside a
    level -> ``//``, ``+`` -> ``*`` and ``#`` -> ``>``."""
    levels = (level.replace(".", "//") for level in topic_filter.split("/"))
    return ".".join(levels).replace("+", "*").replace("#", ">")


def subjects(filters: Iterable[str]) -> list[str]:
    """The subjects of MQTT ``filters``; a final ``#`` also names its parent level in MQTT
    (``a/#`` matches ``a``), which in NATS is a subject of its own."""
    out: list[str] = []
    for f in filters:
        out.append(subject(f))
        if f.endswith("/#"):
            out.append(subject(f[:-2]))
    return out


def device_rights(directory: DeviceDirectory, ref: DeviceRef) -> tuple[list[str], list[str]]:
    """(publish, subscribe) subjects of ``ref``'s credential. Gateway children are read now: a
    device reassigned to a gateway later is the gateway's once the gateway reconnects."""
    children = (
        directory.children(ref.tenant, ref.device) if isinstance(directory, _Gateways) else ()
    )
    rights = device_topics(ref.tenant, ref.device, children)
    return subjects(rights.publish), subjects(rights.subscribe)


# Publish rights of a service's NATS (not MQTT) connections besides its MQTT ones: the
# committed-data stream (helan.connect.nats.stream), the JetStream API, acks and replies.
SERVICE_NATS_SUBJECTS = ("helan.committed.>", "$JS.API.>", "$JS.ACK.>", "_INBOX.>")


def service_rights(*, nats: bool = False) -> tuple[list[str], list[str]]:
    """(publish, subscribe) subjects of the platform's ingest and command services; ``nats``:
    of a service's NATS connection (the committed-data stream)."""
    publish = subjects(service_topics().publish)
    if nats:
        publish += SERVICE_NATS_SUBJECTS
    return publish, [">"]
