"""The gateway's traffic detector: a learned allow-list of who talks to whom and, on Modbus/TCP,
which unit, function code, address range and direction, scored packet by packet.

Learning: every service (client, server, protocol, server port) and Modbus tuple seen during
the learning period becomes allowed when it ends, except those of a client/server pair that
drew exception replies in bulk while learning (a peer probing the address space is not
polling: a scan running while the detector learns is not taught to it).

Scoring, after learning, raises an :class:`Alert` on a new service (a new peer or port), a
Modbus tuple never seen, an address outside the learned range, a write from a client that
never wrote to that unit, a diagnostics or non-public function code, a burst of exception
replies (a scan of addresses or function codes) and a client opening many new services (a
port or host scan). A connection with an alert stays flagged: every later packet of it is
part of the attack. Memory is bounded: at most ``max_flows`` connections are tracked.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from helan.security.traffic.modbus import (
    DIAGNOSTICS,
    PUBLIC,
    Adu,
    MalformedFrame,
    split_adus,
)

Severity = Literal["low", "medium", "high"]
MODBUS_PORT = 502


@dataclass(frozen=True, slots=True)
class Packet:
    """What the detector needs of one packet. ``proto``: ``tcp``, ``udp``, ``icmp``,
    ``ip:N`` or, off IP, ``eth:0xTYPE``. ``syn``: a TCP SYN without ACK (a client opening)."""

    ts: float
    src: str
    dst: str
    proto: str
    sport: int = 0
    dport: int = 0
    syn: bool = False
    payload: bytes = b""


@dataclass(frozen=True, slots=True)
class Alert:
    kind: str
    severity: Severity
    client: str
    server: str
    detail: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """``flagged``: the packet belongs to an alerting connection; ``learning``: it arrived
    while the detector was still learning (not scored)."""

    ts: float
    alerts: tuple[Alert, ...]
    flagged: bool
    learning: bool


@dataclass(slots=True)
class _Flow:
    client: tuple[str, int]
    server: tuple[str, int]
    proto: str
    flagged: bool = False
    buffers: list[bytes] = field(default_factory=lambda: [b"", b""])
    broken: bool = False


@dataclass(slots=True)
class _Pair:
    requests: int = 0
    exceptions: deque[float] = field(default_factory=deque)
    exceptions_total: int = 0
    scan_until: float = float("-inf")


Service = tuple[str, str, str, int]
ModbusKey = tuple[str, str, int, int]  # client, server, unit, function


class TrafficDetector:
    """Learns for ``learn_s`` seconds from the first packet (or until :meth:`finish_learning`),
    then scores. ``scan_exceptions`` exception replies within ``scan_window_s`` on one
    client/server pair, or ``scan_services`` new services opened by one client within it, is a
    scan. Not thread-safe: one detector per capture or tap."""

    def __init__(
        self,
        *,
        learn_s: float = 10.0,
        scan_exceptions: int = 5,
        scan_services: int = 5,
        scan_window_s: float = 10.0,
        modbus_ports: frozenset[int] = frozenset({MODBUS_PORT}),
        max_flows: int = 65536,
    ) -> None:
        if learn_s < 0 or scan_exceptions < 1 or scan_services < 1 or scan_window_s <= 0:
            raise ValueError("learn_s >= 0, scan thresholds >= 1 and a positive window")
        self.learn_s = learn_s
        self.scan_exceptions = scan_exceptions
        self.scan_services = scan_services
        self.scan_window_s = scan_window_s
        self.modbus_ports = modbus_ports
        self.max_flows = max_flows
        self.learning = True
        self._learn_until: float | None = None
        self.services: set[Service] = set()
        self.ranges: dict[ModbusKey, tuple[int, int]] = {}
        self.writers: set[tuple[str, str, int]] = set()
        self._flows: dict[tuple[str, int, str, int, str], _Flow] = {}
        self._pairs: dict[tuple[str, str], _Pair] = {}
        self._new_services: dict[str, deque[float]] = {}
        # what learning saw, allowed only when it ends: (pair, item)
        self._seen_services: set[Service] = set()
        self._seen_ranges: dict[ModbusKey, tuple[int, int]] = {}
        self._seen_writers: set[tuple[str, str, int]] = set()

    # --- learning -------------------------------------------------------------------------

    def finish_learning(self) -> None:
        """Allow what learning saw, less the pairs that drew exceptions in bulk."""
        probing = {
            pair
            for pair, p in self._pairs.items()
            if p.exceptions_total >= 3 and p.exceptions_total >= 0.2 * max(p.requests, 1)
        }
        self.services |= {s for s in self._seen_services if (s[0], s[1]) not in probing}
        for key, (lo, hi) in self._seen_ranges.items():
            if (key[0], key[1]) not in probing:
                self.ranges[key] = _union(self.ranges.get(key), lo, hi)
        self.writers |= {w for w in self._seen_writers if (w[0], w[1]) not in probing}
        self._seen_services.clear()
        self._seen_ranges.clear()
        self._seen_writers.clear()
        self.learning = False
        for flow in self._flows.values():  # a probing connection open across the switch
            flow.flagged = (flow.client[0], flow.server[0]) in probing

    # --- scoring --------------------------------------------------------------------------

    def observe(self, packet: Packet) -> Verdict:
        """Score (or learn from) one packet."""
        if self._learn_until is None:
            self._learn_until = packet.ts + self.learn_s
        if self.learning and packet.ts >= self._learn_until:
            self.finish_learning()
        learning = self.learning
        alerts: list[Alert] = []
        flow = self._flow(packet)
        service: Service = (flow.client[0], flow.server[0], flow.proto, flow.server[1])
        if learning:
            self._seen_services.add(service)
        elif service not in self.services and not flow.flagged:
            flow.flagged = True
            alerts.append(self._new_service(service, packet.ts))
        if packet.payload and flow.proto == "tcp" and flow.server[1] in self.modbus_ports:
            alerts.extend(self._modbus(flow, packet, learning=learning))
        if alerts and not learning:
            flow.flagged = True
        return Verdict(packet.ts, tuple(alerts), flow.flagged and not learning, learning)

    def _flow(self, packet: Packet) -> _Flow:
        key = (packet.src, packet.sport, packet.dst, packet.dport, packet.proto)
        flow = self._flows.get(key)
        if flow is None:
            flow = self._flows.get(
                (packet.dst, packet.dport, packet.src, packet.sport, packet.proto)
            )
        if flow is not None:
            return flow
        src, dst = (packet.src, packet.sport), (packet.dst, packet.dport)
        if packet.syn or not _serves(src[1], dst[1], self.modbus_ports):
            client, server = src, dst
        else:
            client, server = dst, src
        if packet.proto not in ("tcp", "udp"):
            client, server = (packet.src, 0), (packet.dst, 0)
        flow = _Flow(client, server, packet.proto)
        if len(self._flows) >= self.max_flows:
            del self._flows[next(iter(self._flows))]  # oldest first
        self._flows[key] = flow
        return flow

    def _new_service(self, service: Service, ts: float) -> Alert:
        client, server, proto, port = service
        recent = self._new_services.setdefault(client, deque())
        recent.append(ts)
        while recent and recent[0] < ts - self.scan_window_s:
            recent.popleft()
        if len(recent) >= self.scan_services:
            return Alert("scan", "high", client, server, f"{len(recent)} new services opened")
        modbus = proto == "tcp" and port in self.modbus_ports
        kind = "new_modbus_peer" if modbus else "new_service"
        return Alert(kind, "high" if modbus else "medium", client, server, f"{proto}/{port}")

    def _modbus(self, flow: _Flow, packet: Packet, *, learning: bool) -> list[Alert]:
        if flow.broken:
            return []
        request = (packet.src, packet.sport) == flow.client
        side = 0 if request else 1
        data = flow.buffers[side] + packet.payload
        try:
            adus, flow.buffers[side] = split_adus(data, request=request)
        except MalformedFrame as exc:
            flow.broken = True
            flow.buffers = [b"", b""]
            if learning:
                return []
            return [Alert("malformed", "medium", flow.client[0], flow.server[0], str(exc))]
        pair = self._pairs.setdefault((flow.client[0], flow.server[0]), _Pair())
        alerts: list[Alert] = []
        for adu in adus:
            if request:
                pair.requests += 1
                alerts.extend(self._request(flow, adu, learning=learning))
            elif adu.exception is not None:
                alerts.extend(self._exception(flow, pair, adu, packet.ts, learning=learning))
        return alerts

    def _request(self, flow: _Flow, adu: Adu, *, learning: bool) -> list[Alert]:
        client, server = flow.client[0], flow.server[0]
        key: ModbusKey = (client, server, adu.unit, adu.function)
        span = None
        if adu.address is not None and adu.count is not None:
            span = (adu.address, adu.address + max(adu.count, 1) - 1)
        if learning:
            lo, hi = span or (0, -1)
            self._seen_ranges[key] = _union(self._seen_ranges.get(key), lo, hi)
            if adu.write:
                self._seen_writers.add((client, server, adu.unit))
            return []
        what = f"unit {adu.unit} function {adu.function}"
        alerts: list[Alert] = []
        if adu.function not in PUBLIC:
            alerts.append(Alert("unknown_function", "high", client, server, what))
        elif adu.function in DIAGNOSTICS and key not in self.ranges:
            alerts.append(Alert("diagnostics", "high", client, server, what))
        if adu.write and (client, server, adu.unit) not in self.writers:
            alerts.append(Alert("unexpected_write", "high", client, server, what))
        learned = self.ranges.get(key)
        if learned is None:
            if not alerts:
                alerts.append(Alert("new_modbus_tuple", "medium", client, server, what))
        elif span is not None and not (learned[0] <= span[0] and span[1] <= learned[1]):
            alerts.append(
                Alert(
                    "address_out_of_range",
                    "medium",
                    client,
                    server,
                    f"{what} addresses {span[0]}-{span[1]} outside {learned[0]}-{learned[1]}",
                )
            )
        return alerts

    def _exception(
        self, flow: _Flow, pair: _Pair, adu: Adu, ts: float, *, learning: bool
    ) -> list[Alert]:
        pair.exceptions_total += 1
        pair.exceptions.append(ts)
        while pair.exceptions and pair.exceptions[0] < ts - self.scan_window_s:
            pair.exceptions.popleft()
        if learning or len(pair.exceptions) < self.scan_exceptions or ts < pair.scan_until:
            return []
        pair.scan_until = ts + self.scan_window_s  # one alert per window, the flow stays flagged
        detail = f"{len(pair.exceptions)} exception replies in {self.scan_window_s:g} s"
        return [Alert("scan", "high", flow.client[0], flow.server[0], detail)]


def _serves(src_port: int, dst_port: int, modbus_ports: frozenset[int]) -> bool:
    """Whether the packet's source looks like the server (a reply seen mid-connection)."""
    if src_port in modbus_ports and dst_port not in modbus_ports:
        return True
    return src_port < 1024 <= dst_port


def _union(span: tuple[int, int] | None, lo: int, hi: int) -> tuple[int, int]:
    if span is None:
        return lo, hi
    if hi < lo:
        return span
    if span[1] < span[0]:
        return lo, hi
    return min(span[0], lo), max(span[1], hi)
