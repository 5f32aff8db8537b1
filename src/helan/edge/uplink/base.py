"""What the forwarder needs from a payload format."""

from __future__ import annotations

from typing import NamedTuple, Protocol

from helan.edge.readings import SampleSet
from helan.edge.uplink.session import Will


class Message(NamedTuple):
    topic: str
    payload: bytes
    retain: bool = False


class Encoder(Protocol):
    def will(self) -> Will | None:
        """The MQTT will of the next session (Sparkplug's NDEATH), if the format has one."""
        ...

    def subscriptions(self) -> tuple[str, ...]:
        """Topics to subscribe to (Sparkplug's NCMD/DCMD)."""
        ...

    def session_start(self) -> list[Message]:
        """Sent first on every new connection (Sparkplug's NBIRTH and DBIRTHs)."""
        ...

    def needs_rebirth(self) -> bool:
        """A host asked for the session messages again (Sparkplug's Node Control/Rebirth)."""
        ...

    def encode(self, sample: SampleSet, *, historical: bool) -> list[Message]:
        """Messages carrying one buffered sample set; ``historical`` marks drained backlog."""
        ...

    def session_end(self) -> list[Message]:
        """Sent before a clean disconnect (Sparkplug's NDEATH, as the will is not sent then)."""
        ...
