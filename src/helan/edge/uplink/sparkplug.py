"""The gateway as a Sparkplug B edge node: NBIRTH/DBIRTH with metric definitions, NDATA/DDATA
by alias, seq 0-255 across the node's messages, bdSeq per MQTT session, NDEATH as the will,
and a full rebirth when a host asks with ``Node Control/Rebirth``.

BAD points travel as ``is_null`` metrics with the properties ``Quality`` (0 = bad, 192 = good,
the OPC DA codes Ignition also uses) and ``Error``. Backlog drained after an outage is marked
``is_historical`` so a host stores it without treating it as the current value.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from helan.edge.readings import SampleSet, Scalar, now_ms
from helan.edge.uplink.base import Message
from helan.edge.uplink.session import Will
from helan.protocol.sparkplug.codec import (
    DataType,
    Metric,
    Payload,
    SparkplugError,
    datatype_of,
    decode_payload,
    encode_payload,
)
from helan.protocol.sparkplug.topics import HELAN_COMMANDS, SparkplugTopic
from helan.protocol.topics import ROOT

log = logging.getLogger(__name__)

REBIRTH = "Node Control/Rebirth"
BDSEQ = "bdSeq"
QUALITY_BAD = 0


def _datatype(value: Scalar) -> DataType:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 2**63:
        return DataType.UINT64
    return datatype_of(value)


class SparkplugEncoder:
    def __init__(self, group: str, edge_node: str, *, next_bdseq: Callable[[], int]) -> None:
        self.group = group
        self.edge_node = edge_node
        self._next_bdseq = next_bdseq
        self.bdseq = 0
        self._seq = 0
        self._aliases: dict[tuple[str, str], int] = {}
        self._types: dict[tuple[str, str], DataType] = {}
        self._devices: dict[str, list[str]] = {}  # device -> metric names in birth order
        self._born: set[str] = set()
        self.rebirth_requested = False
        self.rejected_commands = 0

    def _topic(self, kind: str, device: str | None = None) -> str:
        return str(SparkplugTopic(self.group, kind, self.edge_node, device))  # type: ignore[arg-type]

    def _next_seq(self) -> int:
        seq, self._seq = self._seq, (self._seq + 1) % 256
        return seq

    def subscriptions(self) -> tuple[str, ...]:
        return (self._topic("NCMD"),)

    def will(self) -> Will:
        """Called once per new session: that session's bdSeq goes in both NDEATH and NBIRTH."""
        self.bdseq = self._next_bdseq() % 256
        body = Payload(
            timestamp=now_ms(),
            metrics=(Metric(name=BDSEQ, datatype=DataType.UINT64, value=self.bdseq),),
        )
        return Will(self._topic("NDEATH"), encode_payload(body))

    def session_start(self) -> list[Message]:
        """NBIRTH (seq 0) and a DBIRTH for every device seen so far."""
        self._seq = 0
        self._born.clear()
        self.rebirth_requested = False
        ts = now_ms()
        nbirth = Payload(
            timestamp=ts,
            seq=self._next_seq(),
            metrics=(
                Metric(name=BDSEQ, datatype=DataType.UINT64, value=self.bdseq, timestamp=ts),
                Metric(name=REBIRTH, datatype=DataType.BOOLEAN, value=False, timestamp=ts),
                Metric(name=HELAN_COMMANDS, datatype=DataType.STRING, value=ROOT),
            ),
        )
        out = [Message(self._topic("NBIRTH"), encode_payload(nbirth))]
        for device in self._devices:
            out.append(self._dbirth(SampleSet(device=device, ts=ts)))
        return out

    def needs_rebirth(self) -> bool:
        return self.rebirth_requested

    def session_end(self) -> list[Message]:
        body = Payload(
            timestamp=now_ms(),
            metrics=(Metric(name=BDSEQ, datatype=DataType.UINT64, value=self.bdseq),),
        )
        return [Message(self._topic("NDEATH"), encode_payload(body))]

    def _learn(self, sample: SampleSet) -> bool:
        """Register new metrics or changed types; True when the device needs a (re)birth."""
        names = self._devices.setdefault(sample.device, [])
        changed = sample.device not in self._born
        for metric, value in sample.values.items():
            key = (sample.device, metric)
            dt = _datatype(value)
            if key not in self._aliases:
                self._aliases[key] = len(self._aliases) + 1
                names.append(metric)
                changed = True
            if self._types.get(key) != dt:
                self._types[key] = dt
                changed = True
        for metric in sample.bad:
            key = (sample.device, metric)
            if key not in self._aliases:
                self._aliases[key] = len(self._aliases) + 1
                self._types[key] = DataType.DOUBLE  # unknown until first read; a good read rebirths
                names.append(metric)
                changed = True
        return changed

    def _metric(self, sample: SampleSet, metric: str, *, birth: bool, historical: bool) -> Metric:
        key = (sample.device, metric)
        dt = self._types[key]
        name = metric if birth else None
        if metric in sample.bad:
            return Metric(
                name=name,
                alias=self._aliases[key],
                timestamp=sample.ts,
                datatype=dt,
                value=None,
                is_historical=historical,
                properties={"Quality": QUALITY_BAD, "Error": sample.bad[metric][:200]},
            )
        return Metric(
            name=name,
            alias=self._aliases[key],
            timestamp=sample.ts,
            datatype=dt if birth else None,
            value=sample.values.get(metric),
            is_historical=historical,
        )

    def _dbirth(self, sample: SampleSet) -> Message:
        metrics = tuple(
            self._metric(sample, m, birth=True, historical=False)
            for m in self._devices[sample.device]
        )
        body = Payload(timestamp=now_ms(), seq=self._next_seq(), metrics=metrics)
        self._born.add(sample.device)
        return Message(self._topic("DBIRTH", sample.device), encode_payload(body))

    def encode(self, sample: SampleSet, *, historical: bool) -> list[Message]:
        if self._learn(sample):  # the birth certificate carries this sample's values
            return [self._dbirth(sample)]
        metrics = tuple(
            self._metric(sample, m, birth=False, historical=historical)
            for m in (*sample.values, *sample.bad)
        )
        if not metrics:
            return []
        body = Payload(timestamp=now_ms(), seq=self._next_seq(), metrics=metrics)
        return [Message(self._topic("DDATA", sample.device), encode_payload(body))]

    def on_command(self, topic: str, payload: bytes) -> None:
        """NCMD: a host asks for a rebirth; anything malformed is counted and ignored."""
        try:
            body = decode_payload(payload)
        except SparkplugError as exc:
            self.rejected_commands += 1
            log.warning("sparkplug: malformed NCMD on %s: %s", topic, exc)
            return
        for metric in body.metrics:
            if metric.name == REBIRTH and metric.value is True:
                self.rebirth_requested = True
