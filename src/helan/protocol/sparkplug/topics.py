"""Sparkplug B topic namespace: ``spBv1.0/{group}/{type}/{edge node}[/{device}]``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

NAMESPACE = "spBv1.0"
# An NBIRTH property of Helan's gateway: it takes commands on the native command topics (with
# id, expiry and reply), so the platform sends it those rather than NCMD/DCMD writes.
HELAN_COMMANDS = "Properties/Helan Commands"
MessageType = Literal["NBIRTH", "NDEATH", "DBIRTH", "DDEATH", "NDATA", "DDATA", "NCMD", "DCMD"]
_NODE_TYPES: tuple[MessageType, ...] = ("NBIRTH", "NDEATH", "NDATA", "NCMD")
_DEVICE_TYPES: tuple[MessageType, ...] = ("DBIRTH", "DDEATH", "DDATA", "DCMD")
_FORBIDDEN = ("/", "+", "#")


class BadSparkplugTopic(ValueError):
    """A topic outside the Sparkplug B namespace or with a wrong number of levels."""


@dataclass(frozen=True, slots=True)
class SparkplugTopic:
    group: str
    message_type: MessageType
    edge_node: str
    device: str | None = None

    def __str__(self) -> str:
        base = f"{NAMESPACE}/{self.group}/{self.message_type}/{self.edge_node}"
        return f"{base}/{self.device}" if self.device is not None else base


def check_element(kind: str, value: str) -> str:
    """Group, edge node and device ids are single topic levels without wildcards (spec 4.1.1)."""
    if not value or any(c in value for c in _FORBIDDEN):
        raise BadSparkplugTopic(f"invalid Sparkplug {kind} {value!r}: empty or has / + #")
    return value


def parse_topic(topic: str) -> SparkplugTopic:
    parts = topic.split("/")
    if len(parts) not in (4, 5) or parts[0] != NAMESPACE:
        raise BadSparkplugTopic(f"topic {topic[:200]!r} is not {NAMESPACE}/<group>/<type>/<node>")
    group, kind, node = parts[1], parts[2], parts[3]
    check_element("group id", group)
    check_element("edge node id", node)
    if len(parts) == 4:
        for known in _NODE_TYPES:
            if kind == known:
                return SparkplugTopic(group, known, node)
    else:
        device = check_element("device id", parts[4])
        for known in _DEVICE_TYPES:
            if kind == known:
                return SparkplugTopic(group, known, node, device)
    raise BadSparkplugTopic(
        f"topic {topic[:200]!r}: message type {kind!r} wrong for its level count"
    )
