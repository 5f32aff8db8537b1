"""Generated password and ACL files enforced by a private, real Mosquitto process."""

from __future__ import annotations

import asyncio
import getpass
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mqtt_helpers import Device
from tests.conftest import eventually

from helan.connect.mqtt.mosquitto_auth import (
    BrokerUser,
    acl_file,
    password_file,
    password_hash,
    password_matches,
    write_files,
)

MOSQUITTO = "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def private_mosquitto(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    users = [
        BrokerUser("acme-pump-1", password_hash("s1"), "acme", "pump-1"),
        BrokerUser("acme-pump-2", password_hash("s2"), "acme", "pump-2"),
        BrokerUser("acme-gw", password_hash("g"), "acme", "gw", frozenset({"plc-1", "plc-2"})),
        BrokerUser("ingest", password_hash("svc")),
    ]
    conf = write_files(tmp_path / "mosq", users, port=port, user=getpass.getuser())
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "") from None
            time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(5)


def test_hash_format() -> None:
    h = password_hash("secret")
    assert h.startswith("$7$101$")
    assert len(h.split("$")) == 5
    with pytest.raises(ValueError, match="cannot be written"):
        password_file([BrokerUser("bad name", h)])
    with pytest.raises(ValueError, match="cannot be the gateway of 'x/#'"):
        acl_file([BrokerUser("gw", h, "acme", "gw", frozenset({"x/#"}))])
    with pytest.raises(ValueError, match="cannot be the gateway"):
        acl_file([BrokerUser("ingest", h, children=frozenset({"plc-1"}))])
    # A tenant or device id with a wildcard would widen the policy's filters to other devices.
    with pytest.raises(ValueError, match="invalid tenant id"):
        acl_file([BrokerUser("gw", h, "ac+me", "gw")])
    with pytest.raises(ValueError, match="needs both"):
        acl_file([BrokerUser("gw", h, "acme", None)])
    assert password_matches("secret", h)
    assert not password_matches("secret2", h)
    for garbage in ("", "$6$x$y$z", "$7$101$!!$!!", "$7$0$AAAA$AAAA", h.replace("$7$", "$8$")):
        assert not password_matches("secret", garbage)


async def test_mosquitto_enforces_generated_files(private_mosquitto: int) -> None:
    port = private_mosquitto
    wrong = await asyncio.to_thread(Device, port, "acme-pump-1", "nope")
    anon = await asyncio.to_thread(Device, port)
    await eventually(lambda: bool(wrong.refused) and bool(anon.refused), 5)
    wrong.close()
    anon.close()

    service = await asyncio.to_thread(Device, port, "ingest", "svc")
    pump1 = await asyncio.to_thread(Device, port, "acme-pump-1", "s1")
    await eventually(lambda: service.connected.is_set() and pump1.connected.is_set())
    service.client.subscribe("helan/v1/+/+/telemetry", qos=1)
    pump1.client.subscribe("helan/v1/acme/pump-2/#", qos=1)  # another device's: denied by ACL
    await asyncio.sleep(0.3)
    pump1.publish("helan/v1/acme/pump-2/telemetry", b'{"values": {"p": 1}}')  # not its own
    pump1.publish("helan/v1/bolt/pump-1/telemetry", b'{"values": {"p": 1}}')  # other tenant
    pump1.publish("helan/v1/acme/pump-1/telemetry", b'{"values": {"p": 2}}')  # its own
    await eventually(lambda: len(service.received) >= 1)
    await asyncio.sleep(0.3)
    assert [t for t, _ in service.received] == ["helan/v1/acme/pump-1/telemetry"]
    assert pump1.received == []
    service.close()
    pump1.close()


async def test_mosquitto_gateway_acl(private_mosquitto: int) -> None:
    """The gateway's one credential reads and writes its children's topics, nothing else."""
    port = private_mosquitto
    service = await asyncio.to_thread(Device, port, "ingest", "svc")
    gw = await asyncio.to_thread(Device, port, "acme-gw", "g")
    pump1 = await asyncio.to_thread(Device, port, "acme-pump-1", "s1")
    await eventually(lambda: all(d.connected.is_set() for d in (service, gw, pump1)))
    service.client.subscribe("helan/v1/+/+/telemetry", qos=1)
    gw.client.subscribe("helan/v1/acme/plc-1/commands/+", qos=1)
    gw.client.subscribe("helan/v1/acme/pump-1/commands/+", qos=1)  # not its child: denied
    await asyncio.sleep(0.3)
    gw.publish("helan/v1/acme/pump-1/telemetry", b"{}")  # not its child
    gw.publish("helan/v1/acme/plc-2/telemetry", b"{}")  # its child
    pump1.publish("helan/v1/acme/plc-1/commands/c-0", b"{}")  # pump-1 may not command plc-1
    gw.publish("helan/v1/acme/plc-1/commands/c-1", b"{}")  # loops back to its own subscription
    pump1.publish("helan/v1/acme/pump-1/commands/c-2", b"{}")  # pump-1's own topic
    await eventually(lambda: len(service.received) >= 1 and len(gw.received) >= 1)
    await asyncio.sleep(0.3)
    assert [t for t, _ in service.received] == ["helan/v1/acme/plc-2/telemetry"]
    assert [t for t, _ in gw.received] == ["helan/v1/acme/plc-1/commands/c-1"]
    for d in (service, gw, pump1):
        d.close()


async def test_mosquitto_sparkplug_and_service_acl(private_mosquitto: int) -> None:
    """A device is also a Sparkplug edge node (group = tenant): it publishes its own births and
    data, not another node's, and receives its own commands; the platform's services read all
    Sparkplug traffic and send commands down."""
    port = private_mosquitto
    service = await asyncio.to_thread(Device, port, "ingest", "svc")
    gw = await asyncio.to_thread(Device, port, "acme-gw", "g")
    pump1 = await asyncio.to_thread(Device, port, "acme-pump-1", "s1")
    await eventually(lambda: all(d.connected.is_set() for d in (service, gw, pump1)))
    service.client.subscribe("spBv1.0/+/#", qos=1)
    gw.client.subscribe("spBv1.0/acme/NCMD/gw", qos=1)
    gw.client.subscribe("helan/v1/acme/plc-1/#", qos=1)
    pump1.client.subscribe("spBv1.0/acme/NCMD/gw", qos=1)  # another node's commands: denied
    await asyncio.sleep(0.3)
    gw.publish("spBv1.0/acme/NBIRTH/pump-1", b"x")  # another node's birth
    gw.publish("spBv1.0/bolt/NBIRTH/gw", b"x")  # another group
    gw.publish("spBv1.0/acme/NCMD/gw", b"x")  # a node does not command itself
    gw.publish("spBv1.0/acme/NBIRTH/gw", b"birth")
    gw.publish("spBv1.0/acme/DDATA/gw/plc-1", b"data")
    service.publish("spBv1.0/acme/NCMD/gw", b"rebirth")
    service.publish("helan/v1/acme/plc-1/commands/c-9", b"{}")
    service.publish("helan/v1/acme/plc-1/attributes", b"{}")  # services do not speak for devices
    await eventually(lambda: len(service.received) >= 3 and len(gw.received) >= 2)
    await asyncio.sleep(0.3)
    assert sorted(t for t, _ in service.received) == [
        "spBv1.0/acme/DDATA/gw/plc-1",
        "spBv1.0/acme/NBIRTH/gw",
        "spBv1.0/acme/NCMD/gw",  # its own command, read back
    ]
    assert sorted(t for t, _ in gw.received) == [
        "helan/v1/acme/plc-1/commands/c-9",
        "spBv1.0/acme/NCMD/gw",
    ]
    assert pump1.received == []
    for d in (service, gw, pump1):
        d.close()
