"""Detector alerts as device events of type ``security_anomaly``: stored and published through
the ingest's events path like any device event, so the rules engine can alarm on them.

Alerts come in bursts (a scan raises one per probe); :class:`SecurityEvents` keeps one event
per device, alert kind and peer per ``hold_s`` and counts the ones it held back in the next.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from helan.core.events import EventRow
from helan.security.traffic.detector import Alert, Packet, TrafficDetector

SECURITY_ANOMALY = "security_anomaly"
_LEVEL = {"low": "info", "medium": "warning", "high": "fault"}

Submit = Callable[[Sequence[EventRow]], Awaitable[object]]


@dataclass(slots=True)
class SecurityEvents:
    """Turns alerts into event rows for ``tenant``/``device`` (the PLC or gateway watched)."""

    tenant: str
    device: str
    source: str  # what watched: "modbus", "mqtt", "opcua"
    hold_s: float = 60.0
    _last: dict[tuple[str, str, str], float] = field(default_factory=dict)
    _held: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def rows(self, alerts: Sequence[Alert], ts: float) -> list[EventRow]:
        """The events to raise for ``alerts`` seen at ``ts`` (epoch seconds)."""
        out: list[EventRow] = []
        for alert in alerts:
            key = (alert.kind, alert.client, alert.server)
            if ts - self._last.get(key, float("-inf")) < self.hold_s:
                self._held[key] = self._held.get(key, 0) + 1
                continue
            self._last[key] = ts
            data: dict[str, object] = {
                "source": self.source,
                "kind": alert.kind,
                "severity": alert.severity,
                "client": alert.client,
                "server": alert.server,
                "detail": alert.detail,
                "suppressed_before": self._held.pop(key, 0),
            }
            level = _LEVEL[alert.severity]
            out.append(
                EventRow(self.tenant, self.device, int(ts * 1000), SECURITY_ANOMALY, level, data)
            )
        return out


class ModbusTap:
    """The server-side tap of a Modbus/TCP PLC: each frame a connection carries goes through
    ``detector``; alerts become events handed to ``submit`` (fire and forget: the PLC's reply
    never waits on the platform). ``on_alert`` sees every alert (tests, the console)."""

    def __init__(
        self,
        detector: TrafficDetector,
        *,
        events: SecurityEvents | None = None,
        submit: Callable[[list[EventRow]], None] | None = None,
        on_alert: Callable[[Alert], None] | None = None,
    ) -> None:
        self.detector = detector
        self.events = events
        self.submit = submit
        self.on_alert = on_alert
        self.alerts: deque[Alert] = deque(maxlen=1000)  # the latest

    def frame(
        self, client: tuple[str, int], server: tuple[str, int], *, request: bool, data: bytes
    ) -> None:
        """One chunk of bytes read (``request``) or written by the server on a connection."""
        if server[1] not in self.detector.modbus_ports:  # whatever port it listens on
            self.detector.modbus_ports |= {server[1]}
        src, dst = (client, server) if request else (server, client)
        now = time.time()
        packet = Packet(now, src[0], dst[0], "tcp", src[1], dst[1], payload=data)
        alerts = self.detector.observe(packet).alerts
        if not alerts:
            return
        self.alerts.extend(alerts)
        if self.on_alert is not None:
            for alert in alerts:
                self.on_alert(alert)
        if self.events is not None and self.submit is not None:
            rows = self.events.rows(alerts, now)
            if rows:
                self.submit(rows)
