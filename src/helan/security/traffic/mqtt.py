"""Per-device baselines of MQTT behaviour: messages per window, topic set, payload size, connects
and authentication failures.

The ingest and the broker's auth callout only count (:meth:`MqttBaselines.message`,
:meth:`MqttBaselines.connect`: a dict update, no work on the hot path); a periodic job calls
:meth:`MqttBaselines.close_window`, which compares each device's window with what its first
``learn_windows`` windows showed and returns the alerts. Authentication failures in bulk are
never normal: they alert while learning too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from helan.security.traffic.detector import Alert, Severity

MAX_TOPICS = 1000  # per device: a device inventing topics is bounded, and alerts


@dataclass(slots=True)
class _Device:
    windows: int = 0  # closed windows learned from
    max_messages: int = 0
    max_size: int = 0
    topics: set[str] = field(default_factory=set)
    messages: int = 0
    size: int = 0
    new_topics: set[str] = field(default_factory=set)
    connects: int = 0
    auth_failures: int = 0


class MqttBaselines:
    """``rate_factor``/``size_factor``: how many times the learned maximum alerts;
    ``churn``: connects per window; ``auth_failures``: failures per window."""

    def __init__(
        self,
        *,
        learn_windows: int = 5,
        rate_factor: float = 5.0,
        size_factor: float = 4.0,
        churn: int = 5,
        auth_failures: int = 5,
    ) -> None:
        if learn_windows < 1 or rate_factor <= 1 or size_factor <= 1 or churn < 1:
            raise ValueError("learn_windows >= 1, factors > 1, churn >= 1")
        self.learn_windows = learn_windows
        self.rate_factor = rate_factor
        self.size_factor = size_factor
        self.churn = churn
        self.auth_failures = auth_failures
        self._devices: dict[tuple[str, str], _Device] = {}

    def _device(self, tenant: str, device: str) -> _Device:
        state = self._devices.get((tenant, device))
        if state is None:
            state = self._devices[(tenant, device)] = _Device()
        return state

    def message(self, tenant: str, device: str, topic: str, size: int) -> None:
        d = self._device(tenant, device)
        d.messages += 1
        d.size = max(d.size, size)
        if topic not in d.topics and len(d.new_topics) < MAX_TOPICS:
            d.new_topics.add(topic)

    def connect(self, tenant: str, device: str, *, ok: bool) -> None:
        d = self._device(tenant, device)
        if ok:
            d.connects += 1
        else:
            d.auth_failures += 1

    def close_window(self) -> list[tuple[str, str, Alert]]:
        """(tenant, device, alert) for every device whose window left its baseline."""
        out: list[tuple[str, str, Alert]] = []
        for (tenant, device), d in self._devices.items():

            def alert(
                kind: str, detail: str, *, tenant: str = tenant, device: str = device
            ) -> None:
                severity: Severity = "high" if kind in ("auth_failures", "new_topic") else "medium"
                out.append((tenant, device, Alert(kind, severity, device, "broker", detail)))

            if d.auth_failures >= self.auth_failures:
                alert("auth_failures", f"{d.auth_failures} failed authentications")
            if d.windows < self.learn_windows:
                d.windows += 1
                d.max_messages = max(d.max_messages, d.messages)
                d.max_size = max(d.max_size, d.size)
                d.topics |= d.new_topics
                if len(d.topics) > MAX_TOPICS:
                    d.topics = set(sorted(d.topics)[:MAX_TOPICS])
            else:
                if d.messages > self.rate_factor * max(d.max_messages, 1):
                    alert(
                        "message_rate", f"{d.messages} messages (learned at most {d.max_messages})"
                    )
                if d.size > self.size_factor * max(d.max_size, 1):
                    alert("payload_size", f"{d.size} bytes (learned at most {d.max_size})")
                if d.new_topics:
                    alert("new_topic", ", ".join(sorted(d.new_topics)[:5]))
                if d.connects > self.churn:
                    alert("connect_churn", f"{d.connects} connects")
            d.messages = d.size = d.connects = d.auth_failures = 0
            d.new_topics = set()
        return out
