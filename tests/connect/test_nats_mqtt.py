"""MqttIngest on NATS's MQTT port (MQTT 3.1.1 only: ``?protocol=3.1.1``), with a private
nats-server (JetStream keeps the persistent session): ack after commit, and messages published
while the ingest is down are delivered when it comes back."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from mqtt_helpers import Device, now_ms
from tests.conftest import _reachable, eventually, free_port
from tests.connect.test_mqtt_ingest import count_stored

from helan.connect.mqtt.service import broker_address
from helan.connect.mqtt.subscriber import MqttIngest

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"  # the machine's NATS


@pytest.fixture
def nats_mqtt(tmp_path: Path) -> Iterator[int]:
    port, mqtt_port = free_port(), free_port()
    conf = tmp_path / "nats.conf"
    conf.write_text(
        f"listen: 127.0.0.1:{port}\nserver_name: helan-test\n"
        f"jetstream {{ store_dir: {tmp_path / 'js'} }}\n"
        f"mqtt {{ listen: 127.0.0.1:{mqtt_port} }}\n"
    )
    proc = subprocess.Popen([NATS_SERVER, "-c", str(conf)], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while not _reachable("127.0.0.1", mqtt_port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(proc.stderr.read().decode() if proc.stderr else "no nats")
            time.sleep(0.1)
        yield mqtt_port
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_url_selects_mqtt_3_1_1() -> None:
    assert broker_address("mqtt://h:1883?protocol=3.1.1").protocol == 4
    assert broker_address("mqtt://u:p@h:1883").protocol == 5
    with pytest.raises(ValueError, match=r"protocol=5 or protocol=3\.1\.1"):
        broker_address("mqtt://h:1883?protocol=3")
    with pytest.raises(ValueError, match="the only query"):
        broker_address("mqtt://h:1883?qos=2")


async def test_ingest_through_nats_keeps_its_session_across_a_restart(
    nats_mqtt: int, tenant, directory, pipeline, live, store, settings
) -> None:
    url = f"mqtt://helan:secret@127.0.0.1:{nats_mqtt}?protocol=3.1.1"
    client_id = f"ingest-{tenant}"

    def ingest() -> MqttIngest:
        return MqttIngest(
            url, pipeline, directory, live, settings, client_id=client_id, tenants=[tenant]
        )

    first = ingest()
    await first.start()
    device = Device(nats_mqtt, v5=False)
    ts = now_ms()
    topic = f"helan/v1/{tenant}/dev-0/telemetry"
    for i in range(20):
        device.publish(topic, orjson.dumps({"ts": ts + i, "values": {"pressure": 2.0}}))
    await eventually(lambda: count_stored(store, tenant, "dev-0") == 20)
    await eventually(lambda: first.acknowledged == 20)
    await first.stop()
    for i in range(20, 50):  # while the ingest is down: kept in its session by JetStream
        device.publish(topic, orjson.dumps({"ts": ts + i, "values": {"pressure": 3.0}}))
    await asyncio.sleep(0.5)
    assert count_stored(store, tenant, "dev-0") == 20
    again = ingest()
    await again.start()
    await eventually(lambda: count_stored(store, tenant, "dev-0") == 50, within=20)
    device.close()
    await again.stop()
