"""The Sparkplug B host application's session logic, pure: topic and payload in, decisions out.

Per edge node it keeps what the spec asks a host to keep: the ``bdSeq`` of the node's current
session (a death certificate with another ``bdSeq`` is stale and ignored), the next expected
``seq`` (0-255 across NBIRTH, DBIRTH, NDATA, DDATA and DDEATH of the node), and the alias table
built from the birth certificates (aliases are unique within a node). DATA from a node or
device that has not been born, a sequence gap, and an unknown alias each ask the node for a
rebirth through ``Node Control/Rebirth``; the points of a gap message are still taken (their
aliases resolve), those of an unborn or unknown alias cannot be and are rejected.

Births and deaths are also handed out as :class:`StoredBirth` records to keep durably, and
:meth:`SparkplugHost.restore` takes them back after a restart: DATA the broker queued meanwhile
then still resolves. The sequence cannot be known across the restart, so a restored node takes
its first message's ``seq`` as the new baseline and is asked for a rebirth.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from helan.connect.sparkplug.names import (
    BDSEQ,
    is_control,
    platform_metric,
    quality_of,
    valid_device,
)
from helan.core.points import Quality
from helan.protocol.sparkplug.codec import (
    DataType,
    Metric,
    Payload,
    Scalar,
    SparkplugError,
    decode_payload,
)
from helan.protocol.sparkplug.topics import HELAN_COMMANDS, SparkplugTopic

# Reason codes counted per tenant next to the native ingest's.
MALFORMED = "malformed"
DATA_BEFORE_BIRTH = "data_before_birth"
SEQ_GAP = "seq_gap"
UNKNOWN_ALIAS = "unknown_alias"
STALE_DEATH = "stale_death"
BAD_NAME = "bad_name"


@dataclass(frozen=True, slots=True)
class MetricDef:
    device: str  # platform device id (the edge node's id for node metrics)
    name: str  # platform metric name
    datatype: DataType


@dataclass(frozen=True, slots=True)
class Sample:
    device: str
    metric: str
    ts: int
    value: Scalar | None
    quality: Quality
    historical: bool


@dataclass(frozen=True, slots=True)
class Birth:
    """A birth certificate's device and the metric definitions it declared."""

    device: str
    edge_node: str
    metrics: dict[str, DataType]


@dataclass(frozen=True, slots=True)
class StoredBirth:
    """What a birth certificate taught the host, in the form kept across restarts."""

    edge_node: str
    device: str | None  # None: the edge node's own NBIRTH
    metrics: tuple[tuple[str, int | None, DataType], ...]  # Sparkplug name, alias, type
    bdseq: int | None = None
    helan_commands: bool = False  # the node takes Helan's native commands (a Helan gateway)


@dataclass(slots=True)
class Outcome:
    samples: list[Sample] = field(default_factory=list)
    births: list[Birth] = field(default_factory=list)
    connected: list[tuple[str, bool]] = field(default_factory=list)
    rebirth: bool = False
    rejected: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    remember: list[StoredBirth] = field(default_factory=list)
    forget: list[tuple[str, str | None]] = field(default_factory=list)  # (edge node, device)

    def reject(self, reason: str, message: str, n: int = 1) -> None:
        self.rejected[reason] += n
        self.problems.append(message)


@dataclass(slots=True)
class _Node:
    bdseq: int | None
    next_seq: int | None  # None: restored after a restart, the next seq is the baseline
    aliases: dict[int, MetricDef] = field(default_factory=dict)
    names: dict[tuple[str, str], MetricDef] = field(default_factory=dict)  # (device, sp name)
    devices: set[str] = field(default_factory=set)


def _bdseq(payload: Payload) -> int | None:
    for m in payload.metrics:
        if m.name == BDSEQ and isinstance(m.value, int) and not isinstance(m.value, bool):
            return m.value
    return None


class SparkplugHost:
    """State of every edge node of every group seen; one instance per ingest connection."""

    def __init__(self) -> None:
        self._nodes: dict[tuple[str, str], _Node] = {}

    def restore(self, group: str, births: Iterable[StoredBirth]) -> None:
        """Take back the births kept before a restart (node births before device births)."""
        for b in sorted(births, key=lambda b: b.device is not None):
            key = (group, b.edge_node)
            if b.device is None:
                self._nodes[key] = _Node(bdseq=b.bdseq, next_seq=None)
            node = self._nodes.get(key)
            if node is None:
                continue  # a device birth whose node birth was lost: wait for the rebirth
            device = b.device or b.edge_node
            if b.device is not None:
                node.devices.add(b.device)
            for name, alias, datatype in b.metrics:
                mapped = platform_metric(name)
                if mapped is None:
                    continue
                d = MetricDef(device, mapped, datatype)
                node.names[(device, name)] = d
                if alias is not None:
                    node.aliases[alias] = d

    def handle(self, topic: SparkplugTopic, data: bytes, now_ms: int) -> Outcome:
        out = Outcome()
        kind = topic.message_type
        if kind in ("NCMD", "DCMD"):
            return out  # commands are for edge nodes; we may be their sender
        if not valid_device(topic.edge_node) or (
            topic.device is not None and not valid_device(topic.device)
        ):
            out.reject(BAD_NAME, f"{topic}: edge node or device id is not a platform device id")
            return out
        key = (topic.group, topic.edge_node)
        node = self._nodes.get(key)
        datatypes = {a: d.datatype for a, d in node.aliases.items()} if node else None
        try:
            payload = decode_payload(data, datatypes)
        except SparkplugError as exc:
            out.reject(MALFORMED, f"{topic}: {exc}")
            return out
        if kind == "NBIRTH":
            self._nbirth(topic, payload, now_ms, out)
        elif kind == "NDEATH":
            self._ndeath(topic, payload, out)
        elif node is None:
            out.reject(DATA_BEFORE_BIRTH, f"{topic}: {kind} before NBIRTH", len(payload.metrics))
            out.rebirth = True
        else:
            self._sequence(topic, node, payload, out)
            if kind == "DBIRTH":
                self._dbirth(topic, node, payload, now_ms, out)
            elif kind == "DDEATH":
                assert topic.device is not None
                node.devices.discard(topic.device)
                out.connected.append((topic.device, False))
                out.forget.append((topic.edge_node, topic.device))
            elif kind == "DDATA" and topic.device not in node.devices:
                n = len(payload.metrics)
                out.reject(DATA_BEFORE_BIRTH, f"{topic}: DDATA before DBIRTH", n)
                out.rebirth = True
            else:
                device = topic.device or topic.edge_node
                self._data(topic, node, device, payload, now_ms, out)
        return out

    def _sequence(self, topic: SparkplugTopic, node: _Node, payload: Payload, out: Outcome) -> None:
        if node.next_seq is None:
            out.problems.append(f"{topic}: first message since restart, seq {payload.seq}")
            out.rebirth = True
        elif payload.seq is None or payload.seq != node.next_seq:
            out.reject(SEQ_GAP, f"{topic}: seq {payload.seq}, expected {node.next_seq}")
            out.rebirth = True
        seq = payload.seq if payload.seq is not None else node.next_seq
        node.next_seq = None if seq is None else (seq + 1) % 256

    def _nbirth(self, topic: SparkplugTopic, payload: Payload, now_ms: int, out: Outcome) -> None:
        bdseq = _bdseq(payload)
        if bdseq is None:
            out.reject(MALFORMED, f"{topic}: NBIRTH without a bdSeq metric")
            out.rebirth = True
            return
        node = _Node(bdseq=bdseq, next_seq=((payload.seq or 0) + 1) % 256)
        self._nodes[(topic.group, topic.edge_node)] = node
        out.connected.append((topic.edge_node, True))
        metrics = self._define(topic, node, topic.edge_node, payload, now_ms, out)
        helan = any(m.name == HELAN_COMMANDS for m in payload.metrics)
        out.remember.append(StoredBirth(topic.edge_node, None, metrics, bdseq, helan))

    def _dbirth(
        self, topic: SparkplugTopic, node: _Node, payload: Payload, now_ms: int, out: Outcome
    ) -> None:
        assert topic.device is not None
        for alias, d in list(node.aliases.items()):  # a rebirth may renumber the device
            if d.device == topic.device:
                del node.aliases[alias]
        node.devices.add(topic.device)
        out.connected.append((topic.device, True))
        metrics = self._define(topic, node, topic.device, payload, now_ms, out)
        out.remember.append(StoredBirth(topic.edge_node, topic.device, metrics))

    def _define(
        self,
        topic: SparkplugTopic,
        node: _Node,
        device: str,
        payload: Payload,
        now_ms: int,
        out: Outcome,
    ) -> tuple[tuple[str, int | None, DataType], ...]:
        """Learn a birth certificate's metrics, then take its values as the first samples;
        returns the definitions learnt (Sparkplug name, alias, type)."""
        declared: dict[str, DataType] = {}
        learnt: list[tuple[str, int | None, DataType]] = []
        for m in payload.metrics:
            if m.name is None or is_control(m.name):
                continue
            name = platform_metric(m.name)
            if name is None:
                out.reject(BAD_NAME, f"{topic}: metric name {m.name!r} has no platform name")
                continue
            if m.datatype is None:
                out.reject(MALFORMED, f"{topic}: birth metric {m.name!r} has no datatype")
                continue
            d = MetricDef(device, name, m.datatype)
            node.names[(device, m.name)] = d
            if m.alias is not None:
                node.aliases[m.alias] = d
            declared[name] = m.datatype
            learnt.append((m.name, m.alias, m.datatype))
        out.births.append(Birth(device=device, edge_node=topic.edge_node, metrics=declared))
        self._data(topic, node, device, payload, now_ms, out)
        return tuple(learnt)

    def _data(
        self,
        topic: SparkplugTopic,
        node: _Node,
        device: str,
        payload: Payload,
        now_ms: int,
        out: Outcome,
    ) -> None:
        fallback = payload.timestamp if payload.timestamp is not None else now_ms
        unknown = 0
        for m in payload.metrics:
            if m.name is not None and is_control(m.name):
                continue
            d = self._resolve(node, device, m)
            if d is None:
                unknown += 1
                continue
            quality = quality_of(m.properties, m.value is None)
            ts = m.timestamp if m.timestamp is not None else fallback
            out.samples.append(Sample(device, d.name, ts, m.value, quality, m.is_historical))
        if unknown:
            message = f"{topic}: {unknown} metrics with an unknown alias or name"
            out.reject(UNKNOWN_ALIAS, message, unknown)
            out.rebirth = True

    @staticmethod
    def _resolve(node: _Node, device: str, m: Metric) -> MetricDef | None:
        if m.name is not None:
            return node.names.get((device, m.name))
        if m.alias is not None:
            d = node.aliases.get(m.alias)
            return d if d is not None and d.device == device else None
        return None

    def _ndeath(self, topic: SparkplugTopic, payload: Payload, out: Outcome) -> None:
        key = (topic.group, topic.edge_node)
        node = self._nodes.get(key)
        bdseq = _bdseq(payload)
        if node is None or bdseq != node.bdseq:
            current = None if node is None else node.bdseq
            out.reject(STALE_DEATH, f"{topic}: bdSeq {bdseq} is not the session's ({current})")
            return
        del self._nodes[key]
        out.forget.append((topic.edge_node, None))
        out.connected.append((topic.edge_node, False))
        out.connected.extend((d, False) for d in sorted(node.devices))
