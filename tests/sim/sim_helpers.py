"""Helpers of the simulator tests: a subscriber recording what the devices publish, and a
private Mosquitto that admits only known device credentials, each bound to its own topic."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest
from gmqtt import Client
from tests.conftest import free_port


@dataclass
class Recorder:
    """Every message received: (topic, decoded payload, arrival time)."""

    messages: list[tuple[str, dict[str, object], float]] = field(default_factory=list)

    def on_message(
        self, client: Client, topic: str, payload: bytes, qos: int, props: object
    ) -> int:
        self.messages.append((topic, orjson.loads(payload), time.time()))
        return 0

    def by_device(self) -> dict[str, list[dict[str, object]]]:
        out: dict[str, list[dict[str, object]]] = {}
        for topic, body, _ in self.messages:
            out.setdefault(topic.split("/")[3], []).append(body)
        return out


async def subscribe(
    url: str, topic: str, username: str | None = None, password: str | None = None
) -> tuple[Client, Recorder]:
    host, port = url.split("://", 1)[1].rsplit(":", 1)
    recorder = Recorder()
    client = Client(f"sim-test-sub-{uuid.uuid4().hex[:8]}")
    if username:
        client.set_auth_credentials(username, password)
    client.on_message = recorder.on_message
    subscribed = asyncio.Event()
    client.on_subscribe = lambda *a: subscribed.set()
    await client.connect(host, int(port))
    client.subscribe(topic, qos=1)
    await asyncio.wait_for(subscribed.wait(), 5)
    return client, recorder


@pytest.fixture
def tenant() -> str:
    """A tenant id no other test uses, so tests on the shared broker never see each other."""
    return f"simt-{uuid.uuid4().hex[:10]}"


@dataclass(frozen=True)
class PrivateBroker:
    url: str
    passwords: dict[str, str]  # username -> password


@pytest.fixture
def private_broker(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[PrivateBroker]:
    """Mosquitto with a password file and an ACL generated for ``request.param`` devices
    (``(tenant, device)`` pairs), plus a ``listener`` user that may read everything."""
    devices: list[tuple[str, str]] = request.param
    passwords = {f"{d}@{t}": secrets.token_urlsafe(16) for t, d in devices}
    passwords["listener"] = secrets.token_urlsafe(16)
    pw_file = tmp_path / "passwd"
    pw_file.write_text("")
    for user, pw in passwords.items():
        subprocess.run(["/usr/bin/mosquitto_passwd", "-b", str(pw_file), user, pw], check=True)
    acl = ["user listener", "topic read helan/v1/#", ""]
    for t, d in devices:
        acl += [f"user {d}@{t}", f"topic write helan/v1/{t}/{d}/telemetry", ""]
    (tmp_path / "acl").write_text("\n".join(acl))
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\npersistence false\nuser root\n"
        f"password_file {pw_file}\nacl_file {tmp_path / 'acl'}\nlog_dest stderr\n"
    )
    proc = subprocess.Popen(["/usr/sbin/mosquitto", "-c", str(conf)], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                import socket

                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            pytest.fail("private mosquitto did not start")
        yield PrivateBroker(url=f"mqtt://127.0.0.1:{port}", passwords=passwords)
    finally:
        proc.terminate()
        proc.wait(5)
