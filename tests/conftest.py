"""Fixtures shared by the whole suite: settings in a temp dir, a fresh PostgreSQL database, the
machine's Mosquitto. Missing services fail loudly: a skipped test is not coverage."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from helan.config import Settings

PG_ADMIN_DSN = os.environ.get("HELAN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
MOSQUITTO = os.environ.get("HELAN_TEST_MQTT", "mqtt://127.0.0.1:1883")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def eventually(cond: Callable[[], object], within: float = 10.0) -> None:
    """Wait until ``cond()`` is truthy, polling every 50 ms; fail the test after ``within`` s."""
    deadline = time.monotonic() + within
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.05)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Embedded defaults in a private directory, with an embedded broker on a free port."""
    return Settings(
        data_dir=tmp_path / "var", mqtt_embedded_port=free_port(), http_port=free_port()
    )


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    name = f"helan_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_ADMIN_DSN, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required at {PG_ADMIN_DSN}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def mosquitto_url() -> str:
    """The machine's Mosquitto (CI starts it); its absence is a failure, not a skip."""
    hostport = MOSQUITTO.split("://", 1)[1]
    host, port = hostport.rsplit(":", 1)
    if not _reachable(host, int(port)):
        pytest.fail(f"Mosquitto is required at {MOSQUITTO}")
    return MOSQUITTO


@pytest.fixture
def nats_url() -> str:
    """The machine's NATS server with JetStream (CI starts it); its absence is a failure."""
    url = os.environ.get("HELAN_TEST_NATS", "nats://127.0.0.1:4222")
    host, port = url.split("://", 1)[1].rsplit(":", 1)
    if not _reachable(host, int(port)):
        pytest.fail(f"NATS is required at {url}")
    return url


MOSQUITTO_BIN = "/usr/sbin/mosquitto"


def start_mosquitto(conf: Path, port: int) -> subprocess.Popen[bytes]:
    """A private Mosquitto on ``conf``, once it accepts connections on ``port``."""
    proc = subprocess.Popen([MOSQUITTO_BIN, "-c", str(conf)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "") from None
            time.sleep(0.05)
