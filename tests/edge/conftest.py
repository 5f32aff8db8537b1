"""Fixtures of the edge tests: the simulated Modbus and OPC UA PLCs, a private Mosquitto that
tests can stop and start (an uplink outage), and an MQTT subscriber that records what reached
the broker."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from helan.sim.plc.modbus import SimulatedModbusPlc
from helan.sim.plc.opcua import SimulatedOpcUaPlc
from tests.conftest import _reachable, free_port

MOSQUITTO = "/usr/sbin/mosquitto"


@pytest.fixture
async def modbus_plc() -> AsyncIterator[SimulatedModbusPlc]:
    plc = SimulatedModbusPlc(port=free_port(), bank=400)
    await plc.start()
    yield plc
    await plc.stop()


@pytest.fixture
async def opcua_plc() -> AsyncIterator[SimulatedOpcUaPlc]:
    plc = SimulatedOpcUaPlc(port=free_port())
    await plc.start()
    yield plc
    await plc.stop()


class PrivateBroker:
    """A Mosquitto of our own on a free port, so an outage hurts nobody else."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.conf = tmp / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 5
        while not _reachable("127.0.0.1", self.port):
            if time.monotonic() > deadline:
                raise RuntimeError("private mosquitto did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(5)
            self.proc = None


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    broker = PrivateBroker(tmp_path)
    yield broker
    broker.stop()


class Recorder:
    """A paho client that publishes at QoS 1 and keeps every message arriving on its
    subscriptions (none, one or several); shared by the edge, command and Sparkplug tests."""

    def __init__(self, url: str, *topics: str) -> None:
        host, port = url.split("://", 1)[1].rsplit(":", 1)
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.connect(host, int(port))
        self.client.loop_start()
        for topic in topics:
            self._subscribed.clear()
            self.client.subscribe(topic, qos=1)
            if not self._subscribed.wait(5):
                raise RuntimeError(f"recorder did not subscribe to {topic}")

    def _on_message(self, _c: object, _u: object, msg: paho.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload)))

    def snapshot(self) -> list[tuple[str, bytes]]:
        with self._lock:
            return list(self.messages)

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def recorder() -> Iterator[Callable[[str, str], Recorder]]:
    made: list[Recorder] = []

    def make(url: str, topic: str) -> Recorder:
        r = Recorder(url, topic)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()
