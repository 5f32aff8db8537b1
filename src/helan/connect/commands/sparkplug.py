"""Commands to devices of third-party Sparkplug edge nodes: Sparkplug writes, confirmed by DATA.

A device that came in through a Sparkplug birth (device attribute ``sparkplug_node``) of a node
that does not take Helan's native commands gets them as the spec has hosts write: an NCMD (the
edge node itself) or DCMD (one of its devices) naming each metric as in its birth certificate,
with the birth's datatype and the new value. Sparkplug has no reply, so a write counts as done
when the node reports every written metric with the written value in DATA (or a new BIRTH);
a DEATH meanwhile fails it, and silence ends as ``timeout``. A node reporting by exception sends
nothing for a value it already had: such a write times out although nothing is wrong.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from helan.connect.sparkplug.births import NODE, to_birth
from helan.connect.sparkplug.names import BDSEQ, platform_metric
from helan.connect.sparkplug.registry import NODE_ATTRIBUTE
from helan.protocol.commands import Scalar
from helan.protocol.sparkplug.codec import (
    DataType,
    Metric,
    Payload,
    SparkplugError,
    decode_payload,
    encode_payload,
)
from helan.protocol.sparkplug.topics import NAMESPACE, SparkplugTopic
from helan.storage.meta import MetaStore
from helan.storage.meta.models import Device, SparkplugBirth

OFFLINE = "offline"
CONFIRMED = "confirmed"
REFUSED = "refused"
Outcome = tuple[str, str, str]  # status, reason, message


class TargetUnavailable(Exception):
    """The device is a Sparkplug device but cannot take a command now (reason, message)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class SparkplugTarget:
    group: str
    edge_node: str
    device: str | None  # None: the edge node itself
    bdseq: int | None  # of the node's session: an NDEATH with another one is stale
    metrics: Mapping[str, tuple[str, int | None, DataType]]  # platform name -> birth definition

    def _topic(self, kind: str) -> str:
        return str(SparkplugTopic(self.group, kind, self.edge_node, self.device))  # type: ignore[arg-type]

    @property
    def command_topic(self) -> str:
        return self._topic("DCMD" if self.device else "NCMD")

    def filters(self) -> tuple[str, ...]:
        """What to watch for the confirmation: the target's births, data and deaths."""
        node = f"{NAMESPACE}/{self.group}/+/{self.edge_node}"
        if self.device is None:
            return (node,)
        return (f"{node}/{self.device}", f"{NAMESPACE}/{self.group}/NDEATH/{self.edge_node}")

    def command(self, params: Mapping[str, Scalar], now_ms: int) -> bytes:
        """The NCMD/DCMD payload; raises :class:`TargetUnavailable` (refused) when a param is
        not a metric of the birth certificate or its value does not fit the metric's type."""
        metrics: list[Metric] = []
        for name, value in params.items():
            found = self.metrics.get(name)
            if found is None:
                who = self.device or self.edge_node
                raise TargetUnavailable(REFUSED, f"{who} declared no metric {name!r} in its birth")
            sp_name, _, datatype = found
            metrics.append(Metric(name=sp_name, timestamp=now_ms, datatype=datatype, value=value))
        try:
            return encode_payload(Payload(timestamp=now_ms, metrics=tuple(metrics)))
        except SparkplugError as exc:
            raise TargetUnavailable(REFUSED, str(exc)) from None


def find_target(meta: MetaStore, tenant: str, device: str) -> SparkplugTarget | None:
    """The Sparkplug route to ``device``, or None when it takes native commands (not a
    Sparkplug device, or its edge node is a Helan gateway). Blocking."""
    with meta.session() as s:
        row = s.get(Device, (tenant, device))
        origin = (row.attributes or {}).get(NODE_ATTRIBUTE) if row is not None else None
        if not isinstance(origin, str) or "/" not in origin:
            return None
        group, edge_node = origin.split("/", 1)
        node = s.get(SparkplugBirth, (group, edge_node, NODE))
        if node is None:
            raise TargetUnavailable(OFFLINE, f"edge node {edge_node!r} is offline")
        if node.helan_commands:
            return None
        own = s.get(SparkplugBirth, (group, edge_node, NODE if device == edge_node else device))
        if own is None:
            raise TargetUnavailable(OFFLINE, f"{device!r} is offline (no DBIRTH since its DDEATH)")
        birth = to_birth(own)
    metrics: dict[str, tuple[str, int | None, DataType]] = {}
    for sp_name, alias, datatype in birth.metrics:
        mapped = platform_metric(sp_name)
        if mapped is not None:
            metrics[mapped] = (sp_name, alias, datatype)
    return SparkplugTarget(group, edge_node, birth.device, node.bdseq, metrics)


def _same(expected: Scalar, got: object, datatype: DataType) -> bool:
    if got is None or isinstance(expected, bool) != isinstance(got, bool):
        return False
    if datatype is DataType.FLOAT and isinstance(got, float) and isinstance(expected, int | float):
        return math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-6)  # 32-bit float
    return got == expected


class Confirmation:
    """Watches the target's messages until every written value is reported back."""

    def __init__(self, target: SparkplugTarget, params: Mapping[str, Scalar]) -> None:
        self.target = target
        self._pending = {target.metrics[n][0]: (v, target.metrics[n][2]) for n, v in params.items()}
        self._by_alias = {a: n for n, a, _ in target.metrics.values() if a is not None}
        self._types = {a: dt for _, a, dt in target.metrics.values() if a is not None}
        self._written = ", ".join(f"{k}={v!r}" for k, v in params.items())

    def feed(self, topic: SparkplugTopic, data: bytes) -> Outcome | None:
        t = self.target
        if topic.edge_node != t.edge_node or topic.group != t.group:
            return None
        kind = topic.message_type
        if kind == "NDEATH":
            if self._bdseq(data) in (None, t.bdseq):
                return ("failure", OFFLINE, f"{t.edge_node} died before confirming the write")
            return None
        if topic.device != t.device:
            return None
        if kind == "DDEATH":
            return ("failure", OFFLINE, f"{t.device} died before confirming the write")
        if kind not in ("NDATA", "DDATA", "NBIRTH", "DBIRTH"):
            return None
        try:
            payload = decode_payload(data, self._types)
        except SparkplugError:
            return None  # the ingest counts it; the confirmation may still come
        for m in payload.metrics:
            name = m.name if m.name is not None else self._by_alias.get(m.alias or -1)
            wanted = self._pending.get(name or "")
            if wanted is not None and _same(wanted[0], m.value, wanted[1]):
                del self._pending[name or ""]
        if self._pending:
            return None
        return ("success", CONFIRMED, f"wrote {self._written}; the node reported it back")

    @staticmethod
    def _bdseq(data: bytes) -> int | None:
        try:
            metrics = decode_payload(data).metrics
        except SparkplugError:
            return None
        return next(
            (m.value for m in metrics if m.name == BDSEQ and isinstance(m.value, int)), None
        )
