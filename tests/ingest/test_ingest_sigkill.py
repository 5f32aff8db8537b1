"""Nothing accepted is lost when the ingest process dies: kill -9 mid-load, restart, count."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from helan.config import Settings
from helan.storage.telemetry import open_store

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]
SRC = Path(__file__).resolve().parents[2] / "src"
MESSAGES = 800  # with 10 metrics each: 8,000 points
METRICS = [f"m{i}" for i in range(10)]


def start_worker(mqtt_url: str, data_dir: Path, devices: Path, tenant: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "helan.connect.mqtt.worker",
            "--mqtt",
            mqtt_url,
            "--data-dir",
            str(data_dir),
            "--devices",
            str(devices),
            "--client-id",
            f"ingest-{tenant}",
            "--tenant",
            tenant,
            "--batch-ms",
            "50",
        ],
        stdout=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"ready"
    return proc


def stored_points(data_dir: Path, tenant: str) -> int:
    store = open_store(Settings(data_dir=data_dir))
    try:
        return _count(store, tenant)
    finally:
        store.close()


def _count(store, tenant: str) -> int:
    from helan.storage.telemetry.base import RawQuery

    total = 0
    for metric in METRICS:
        q = RawQuery(
            tenant=tenant, device="dev-0", metric=metric, start_ms=0, end_ms=2**62, limit=100_000
        )
        total += store.raw(q).num_rows
    return total


def test_sigkill_mid_load_loses_nothing(mosquitto_url: str, tmp_path: Path) -> None:
    """QoS 1 load on the machine's Mosquitto; the worker is killed with SIGKILL while messages
    are in flight and restarted. Its session is persistent and it acknowledges only after the
    write, so every published point is stored exactly once (the store de-duplicates the
    redelivered ones). The backlog during the kill stays under Mosquitto's default limit of
    1000 queued messages per offline client (max_queued_messages, which this machine's broker
    keeps): the whole load is 800 messages."""
    tenant = f"k{uuid.uuid4().hex[:10]}"
    devices = tmp_path / "devices.json"
    devices.write_bytes(
        orjson.dumps(
            [{"tenant": tenant, "device": "dev-0", "metrics": [{"name": m} for m in METRICS]}]
        )
    )
    data_dir = tmp_path / "var"
    worker = start_worker(mosquitto_url, data_dir, devices, tenant)

    host, port = mosquitto_url.split("://", 1)[1].rsplit(":", 1)
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{tenant}", protocol=mqtt.MQTTv5)
    pub.max_queued_messages_set(0)
    pub.connect(host, int(port))
    pub.loop_start()
    t0 = time.time_ns() // 1_000_000 - 60_000
    infos = []

    def publish() -> None:
        for i in range(MESSAGES):
            body = {"ts": t0 + i, "values": {m: float(i) for m in METRICS}}
            infos.append(pub.publish(f"helan/v1/{tenant}/dev-0/telemetry", orjson.dumps(body), 1))
            time.sleep(0.002)

    publisher = threading.Thread(target=publish)
    publisher.start()
    time.sleep(0.6)  # mid-load: some batches written, others in flight
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    at_kill = stored_points(data_dir, tenant)
    publisher.join()
    for info in infos:
        info.wait_for_publish(10)  # the broker has every message
    pub.disconnect()
    pub.loop_stop()

    expected = MESSAGES * len(METRICS)
    assert 0 < at_kill < expected  # the kill did land mid-load
    got = 0
    for _ in range(6):
        worker = start_worker(mosquitto_url, data_dir, devices, tenant)
        time.sleep(2.0)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(20) == 0
        got = stored_points(data_dir, tenant)
        if got >= expected:
            break
    assert got == expected
