"""Helpers of the MQTT tests: a per-test tenant (the machine's Mosquitto is shared), a device
client, and a wait-until."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

METRICS: list[dict[str, Any]] = [
    {"name": "pressure", "type": "float", "min": 0.0, "max": 100.0},
    {"name": "count", "type": "int"},
]


def unique_tenant() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def records(tenant: str, devices: int = 2) -> list[dict[str, Any]]:
    return [
        {
            "tenant": tenant,
            "device": f"dev-{i}",
            "username": f"{tenant}-dev-{i}",
            "secret": f"secret-{i}",
            "metrics": METRICS,
        }
        for i in range(devices)
    ]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Device:
    """A device on paho-mqtt's network thread: publishes queue inside paho and go out as the
    broker's in-flight window allows; received messages collect in ``received``."""

    def __init__(
        self,
        port: int,
        username: str | None = None,
        password: str | None = None,
        *,
        v5: bool = True,
        reconnect: bool = True,
    ) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"test-{uuid.uuid4().hex[:12]}",
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            reconnect_on_failure=reconnect,  # False: a refused client's close() is immediate
        )
        self.client.max_queued_messages_set(0)
        if username is not None:
            self.client.username_pw_set(username, password)
        self.received: list[tuple[str, bytes]] = []
        self.refused: list[Any] = []
        self.connected = threading.Event()
        self.client.on_message = lambda c, u, m: self.received.append((m.topic, m.payload))
        self.client.on_connect = self._on_connect
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self.refused.append(reason)
        else:
            self.connected.set()

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> mqtt.MQTTMessageInfo:
        return self.client.publish(topic, payload, qos=qos)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
