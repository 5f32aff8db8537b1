"""MQTT behaviour baselines: a device's learned windows, then rate, size, topic, churn and
authentication-failure alerts; a device within its baseline stays quiet."""

from __future__ import annotations

import pytest

from helan.security.traffic.mqtt import MAX_TOPICS, MqttBaselines

TOPIC = "helan/v1/t1/d1/telemetry"


def _learned() -> MqttBaselines:
    b = MqttBaselines(learn_windows=3)
    for _ in range(3):
        for _ in range(10):
            b.message("t1", "d1", TOPIC, 200)
        b.connect("t1", "d1", ok=True)
        assert b.close_window() == []
    return b


def test_within_baseline_is_quiet() -> None:
    b = _learned()
    for _ in range(12):
        b.message("t1", "d1", TOPIC, 250)
    assert b.close_window() == []


def test_each_departure_alerts() -> None:
    b = _learned()
    for _ in range(60):
        b.message("t1", "d1", TOPIC, 200)
    b.message("t1", "d1", "helan/v1/t1/d1/events", 5000)
    for _ in range(6):
        b.connect("t1", "d1", ok=True)
    alerts = {a.kind: a for _, _, a in b.close_window()}
    assert set(alerts) == {"message_rate", "payload_size", "new_topic", "connect_churn"}
    assert alerts["new_topic"].detail == "helan/v1/t1/d1/events"
    assert alerts["new_topic"].client == "d1"
    assert b.close_window() == []  # a window's counts do not carry over


def test_auth_failures_alert_while_learning() -> None:
    b = MqttBaselines()
    for _ in range(5):
        b.connect("t1", "ghost", ok=False)
    ((tenant, device, alert),) = b.close_window()
    assert (tenant, device, alert.kind, alert.severity) == ("t1", "ghost", "auth_failures", "high")


def test_topics_bounded() -> None:
    b = MqttBaselines(learn_windows=1)
    for n in range(MAX_TOPICS + 50):
        b.message("t1", "d1", f"{TOPIC}/{n}", 10)
    b.close_window()
    for n in range(MAX_TOPICS + 50):
        b.message("t1", "d1", f"x/{n}", 10)
    ((_, _, alert),) = [x for x in b.close_window() if x[2].kind == "new_topic"]
    assert alert.detail.count(",") == 4  # five named


def test_bad_settings() -> None:
    with pytest.raises(ValueError, match="learn_windows"):
        MqttBaselines(learn_windows=0)
    with pytest.raises(ValueError, match="learn_windows"):
        MqttBaselines(rate_factor=1)
