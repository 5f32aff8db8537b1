from __future__ import annotations

import pytest

from helan.connect.mqtt.service import SERVICE_USERNAME, broker_address
from helan.protocol.topics import BadTopic, DeviceTopic, ingest_filters, parse_topic


def test_good_topic() -> None:
    assert parse_topic("helan/v1/acme/pump-1/telemetry") == DeviceTopic(
        "acme", "pump-1", "telemetry"
    )
    assert parse_topic("helan/v1/acme/a:b.c/events").kind == "events"


@pytest.mark.parametrize(
    "topic",
    [
        "helan/v1/acme/+/telemetry",
        "helan/v1/acme/#",
        "helan/v1/acme/../telemetry",
        "helan/v1/acme/pump\x00/telemetry",
        "helan/v1/acme/pump-1",
        "helan/v1/acme/pump-1/telemetry/extra",
        "helan/v2/acme/pump-1/telemetry",
        "helan/v1/ACME/pump-1/telemetry",
        "helan/v1/acme/pump-1/commands",
        "/helan/v1/acme/pump-1/telemetry",
        "",
    ],
)
def test_bad_topics(topic: str) -> None:
    with pytest.raises(BadTopic):
        parse_topic(topic)


def test_shared_subscription_filters() -> None:
    assert ingest_filters("acme", "g")[0] == "$share/g/helan/v1/acme/+/telemetry"


def test_broker_address() -> None:
    a = broker_address("mqtt://svc:p%40ss@broker:1884")
    assert (a.host, a.port, a.username, a.password, a.tls) == ("broker", 1884, "svc", "p@ss", False)
    assert broker_address("mqtts://h").port == 8883
    assert broker_address("mqtt://h").username == SERVICE_USERNAME
    with pytest.raises(ValueError, match="scheme"):
        broker_address("http://h")
