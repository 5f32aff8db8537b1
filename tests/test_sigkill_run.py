"""SIGKILL of ``helan run`` (embedded broker) under load from a separate publisher process:
after a restart on the same data dir, every point the broker acknowledged is stored, and the
rule on those points raised its alarm exactly once per excursion (none lost, none doubled).

The embedded nats-server dies with the platform (PDEATHSIG), so the restart finds its ports
free and reopens the same JetStream store; the ingest's persistent session there still holds
the messages it had not acknowledged (it acks only after commit)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import paho.mqtt.client as paho

from helan.config import Settings
from helan.storage.telemetry import open_store
from tests.conftest import free_port

TOTAL = 20_000
CYCLE = 100  # pressure = i % CYCLE: one excursion above the rule's 98.5 per cycle


def publish(
    port: int,
    username: str,
    password: str,
    progress: str,
    base_ts: int,
    topic: str = "helan/v1/acme/pump-1/telemetry",
) -> None:
    """The publisher process: TOTAL QoS 1 messages (one point each, distinct timestamps from
    ``base_ts``, recent enough for retention to keep) at a few thousand a second, through the
    broker's restart; writes how many were PUBACKed."""
    pending: dict[int, int] = {}
    acked: set[int] = set()
    client = paho.Client(
        paho.CallbackAPIVersion.VERSION2,
        client_id=f"publisher-{os.getpid()}",
        protocol=paho.MQTTv311,
    )
    client.username_pw_set(username, password)
    client.max_queued_messages_set(0)
    client.max_inflight_messages_set(200)
    client.reconnect_delay_set(0.2, 0.5)

    def on_publish(c: Any, u: Any, mid: int, rc: Any, p: Any) -> None:
        if mid in pending:
            acked.add(pending.pop(mid))

    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    client.loop_start()
    out = Path(progress)
    for i in range(TOTAL):
        body = orjson.dumps({"ts": base_ts + i, "values": {"pressure": float(i % CYCLE)}})
        info = client.publish(topic, body, qos=1)
        pending[info.mid] = i
        if i % 100 == 99:
            out.write_text(str(len(acked)))
            time.sleep(0.02)
    while len(acked) < TOTAL:
        out.write_text(str(len(acked)))
        time.sleep(0.1)
    out.write_text(str(len(acked)))
    client.loop_stop()
    client.disconnect()


def _wait(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _acked(progress: Path) -> int:
    try:
        return int(progress.read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def test_sigkill_of_helan_run_loses_no_acknowledged_point(tmp_path: Path) -> None:
    data = tmp_path / "var"
    http_port, mqtt_port = free_port(), free_port()
    env = {
        **os.environ,
        "HELAN_DATA_DIR": str(data),
        "HELAN_HTTP_PORT": str(http_port),
        "HELAN_MQTT_EMBEDDED_PORT": str(mqtt_port),
        "HELAN_MQTT_URL": "",
        "HELAN_IDENT_PORT": "0",
    }
    helan = [sys.executable, "-m", "helan"]
    subprocess.run([*helan, "admin", "create-tenant", "acme", "Acme"], env=env, check=True)

    def run() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([*helan, "run"], env=env, stdout=subprocess.DEVNULL)
        _wait(lambda: _healthy(http_port) and _listening(mqtt_port), 30, "helan run")
        return proc

    first = run()
    auth, password = _provision(http_port, (data / "admin-password.txt").read_text().strip())
    progress = tmp_path / "acked"
    publisher = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from tests.test_sigkill_run import publish; "
            "publish(int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))",
            str(mqtt_port),
            "pump-1@acme",
            password,
            str(progress),
            str(time.time_ns() // 1_000_000 - 60_000),
        ],
        cwd=Path(__file__).parent.parent,
    )
    second: subprocess.Popen[bytes] | None = None
    try:
        _wait(lambda: _acked(progress) >= TOTAL // 4, 20, "a quarter of the load acked")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        acked_at_kill = _acked(progress)
        assert acked_at_kill < TOTAL, "the load ended before the kill"
        _wait(lambda: not _listening(mqtt_port), 10, "the broker to die with its platform")
        second = run()
        publisher.wait(30)
        assert publisher.returncode == 0
        assert _acked(progress) == TOTAL
        # What the killed ingest had in hand comes again after the broker's ack wait (5 s).
        _wait(lambda: _stored(http_port, auth) == TOTAL, 20, "every acked point stored")
        excursions = TOTAL // CYCLE
        _wait(lambda: _activations(http_port, auth) >= excursions, 30, "every excursion raised")
        time.sleep(2)  # a doubled activation would come now, from the rules' replay
        assert _activations(http_port, auth) == excursions
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
    finally:
        for proc in (publisher, first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)
    store = open_store(Settings(data_dir=data))
    try:
        assert store.stats().points == TOTAL  # every point, once (the store de-duplicates)
    finally:
        store.close()


def _provision(
    http_port: int, admin_password: str, tenant: str = "acme"
) -> tuple[dict[str, str], str]:
    """A pump type with one float metric and a device of it: the admin's auth header and the
    device's MQTT password."""
    with httpx.Client(base_url=f"http://127.0.0.1:{http_port}", timeout=10) as api:
        r = api.post("/api/v1/auth/token", data={"username": "admin", "password": admin_password})
        r.raise_for_status()
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        pump = {"id": "pump", "name": "Pump", "properties": [{"name": "pressure", "type": "float"}]}
        r = api.post(f"/api/v1/tenants/{tenant}/device-types", json=pump, headers=auth)
        assert r.status_code == 201, r.text
        device = {"id": "pump-1", "name": "Pump 1", "device_type": "pump"}
        r = api.post(f"/api/v1/tenants/{tenant}/devices", json=device, headers=auth)
        assert r.status_code == 201, r.text
        password = str(r.json()["password"])
        rule = {
            "id": "high-pressure",
            "name": "High pressure",
            "target": {"device": "pump-1"},
            "condition": {"kind": "threshold", "metric": "pressure", "op": ">", "value": 98.5},
        }
        r = api.post(f"/api/v1/tenants/{tenant}/rules", json=rule, headers=auth)
        assert r.status_code == 201, r.text
        return auth, password


def _activations(http_port: int, auth: dict[str, str], tenant: str = "acme") -> int:
    """How often the rule's alarms were activated (one open alarm counts its repeats)."""
    r = httpx.get(
        f"http://127.0.0.1:{http_port}/api/v1/tenants/{tenant}/alarms",
        params={"rule": "high-pressure", "limit": 1000},
        headers=auth,
        timeout=10,
    )
    r.raise_for_status()
    return sum(int(a["count"]) for a in r.json()["items"] if a["rule_id"] == "high-pressure")


def _stored(http_port: int, auth: dict[str, str], tenant: str = "acme") -> int:
    """Points of pump-1 the REST API counts (daily buckets)."""
    r = httpx.get(
        f"http://127.0.0.1:{http_port}/api/v1/tenants/{tenant}/devices/pump-1/telemetry",
        params={"metrics": "pressure", "bucket": "1d", "fn": "count", "start": 0},
        headers=auth,
        timeout=10,
    )
    r.raise_for_status()
    return int(sum(value for _, value in r.json()["series"]["pressure"]))


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
