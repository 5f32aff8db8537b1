"""The embedded amqtt broker: device credentials, topic binding, connect events, ingest."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
import pytest
from mqtt_helpers import METRICS, Device, now_ms, records
from tests.conftest import eventually

from helan.connect.mqtt.broker import EmbeddedBroker
from helan.connect.mqtt.service import SERVICE_SECRET, SERVICE_USERNAME
from helan.connect.mqtt.subscriber import MqttIngest
from helan.ingest.static_directory import StaticDirectory
from helan.storage.telemetry.base import RawQuery


@pytest.fixture
async def broker(settings, directory, live) -> AsyncIterator[EmbeddedBroker]:
    b = EmbeddedBroker(settings.mqtt_embedded_port, directory, live=live, host="127.0.0.1")
    await b.start()
    yield b
    await b.stop()


@pytest.fixture
async def ingest(broker, pipeline, directory, live, settings) -> AsyncIterator[MqttIngest]:
    i = MqttIngest(f"mqtt://127.0.0.1:{broker.port}", pipeline, directory, live, settings)
    await i.start()
    await asyncio.sleep(0.2)
    yield i
    await i.stop()


def stored(store, tenant: str, device: str) -> int:
    q = RawQuery(tenant=tenant, device=device, metric="pressure", start_ms=0, end_ms=2**62)
    return store.raw(q).num_rows


async def test_device_publishes_and_is_live(broker, ingest, tenant, store, live) -> None:
    dev = await asyncio.to_thread(Device, broker.port, f"{tenant}-dev-0", "secret-0", v5=False)
    await eventually(dev.connected.is_set)
    await eventually(lambda: (s := live.device(tenant, "dev-0")) is not None and s.connected)
    ts = now_ms()
    for i in range(10):
        dev.publish(
            f"helan/v1/{tenant}/dev-0/telemetry",
            orjson.dumps({"ts": ts + i, "values": {"pressure": 3.0}}),
        )
    await eventually(lambda: stored(store, tenant, "dev-0") == 10)
    dev.close()
    await eventually(lambda: not live.device(tenant, "dev-0").connected)


async def test_wrong_credentials_refused(broker, tenant) -> None:
    for username, password in ((f"{tenant}-dev-0", "wrong"), ("nobody", "x"), (None, None)):
        dev = await asyncio.to_thread(Device, broker.port, username, password, v5=False)
        await eventually(lambda d=dev: bool(d.refused) or not d.client.is_connected(), 5)
        assert not dev.connected.is_set()
        dev.close()


async def test_service_name_needs_the_service_secret(broker) -> None:
    dev = await asyncio.to_thread(Device, broker.port, "$helan-ingest", "guess", v5=False)
    await eventually(lambda: bool(dev.refused) or not dev.client.is_connected(), 5)
    assert not dev.connected.is_set()
    dev.close()


async def test_device_cannot_publish_as_another(broker, ingest, tenant, store) -> None:
    """dev-0's credential on dev-1's topic, and on another tenant's: refused, nothing stored."""
    dev = await asyncio.to_thread(Device, broker.port, f"{tenant}-dev-0", "secret-0", v5=False)
    await eventually(dev.connected.is_set)
    body = orjson.dumps({"values": {"pressure": 1.0}})
    dev.publish(f"helan/v1/{tenant}/dev-1/telemetry", body)
    dev.publish("helan/v1/other/dev-0/telemetry", body)
    dev.publish(f"helan/v1/{tenant}/dev-0/telemetry", body)  # its own: stored
    await eventually(lambda: stored(store, tenant, "dev-0") == 1)
    await asyncio.sleep(0.3)
    assert stored(store, tenant, "dev-1") == 0
    assert stored(store, "other", "dev-0") == 0
    dev.close()


async def test_device_cannot_subscribe_to_another(broker, ingest, tenant) -> None:
    spy = await asyncio.to_thread(Device, broker.port, f"{tenant}-dev-0", "secret-0", v5=False)
    victim = await asyncio.to_thread(Device, broker.port, f"{tenant}-dev-1", "secret-1", v5=False)
    await eventually(lambda: spy.connected.is_set() and victim.connected.is_set())
    spy.client.subscribe(f"helan/v1/{tenant}/dev-1/#", qos=0)
    spy.client.subscribe("#", qos=0)
    victim.client.subscribe(f"helan/v1/{tenant}/dev-1/errors", qos=0)
    await asyncio.sleep(0.2)
    victim.publish(f"helan/v1/{tenant}/dev-1/telemetry", b"{bad json")
    await eventually(lambda: len(victim.received) == 1)  # its error report
    await asyncio.sleep(0.2)
    assert spy.received == []
    spy.close()
    victim.close()


async def test_gateway_speaks_for_its_devices_only(settings, pipeline, live, store, tenant) -> None:
    """dev-0 is the gateway of plc-1 (dev-1 of plc-2): its one credential publishes plc-1's
    telemetry and receives plc-1's commands, and nothing of plc-2's."""
    children = [
        {"tenant": tenant, "device": "plc-1", "gateway": "dev-0", "metrics": METRICS},
        {"tenant": tenant, "device": "plc-2", "gateway": "dev-1", "metrics": METRICS},
    ]
    directory = StaticDirectory.from_records(records(tenant) + children)
    broker = EmbeddedBroker(settings.mqtt_embedded_port, directory, live=live, host="127.0.0.1")
    await broker.start()
    url = f"mqtt://127.0.0.1:{broker.port}"
    ingest = MqttIngest(url, pipeline, directory, live, settings)
    await ingest.start()
    gw = await asyncio.to_thread(Device, broker.port, f"{tenant}-dev-0", "secret-0", v5=False)
    svc = await asyncio.to_thread(Device, broker.port, SERVICE_USERNAME, SERVICE_SECRET, v5=False)
    try:
        await eventually(lambda: gw.connected.is_set() and svc.connected.is_set())
        gw.client.subscribe(f"helan/v1/{tenant}/plc-1/commands/+", qos=1)
        gw.client.subscribe(f"helan/v1/{tenant}/plc-2/commands/+", qos=1)  # not its device
        await asyncio.sleep(0.3)
        body = orjson.dumps({"values": {"pressure": 4.0}})
        gw.publish(f"helan/v1/{tenant}/plc-2/telemetry", body)
        gw.publish(f"helan/v1/{tenant}/plc-1/telemetry", body)
        await eventually(lambda: stored(store, tenant, "plc-1") == 1)
        svc.publish(f"helan/v1/{tenant}/plc-2/commands/c-2", b"{}")
        svc.publish(f"helan/v1/{tenant}/plc-1/commands/c-1", b"{}")
        await eventually(lambda: len(gw.received) >= 1)
        await asyncio.sleep(0.3)
        assert [t for t, _ in gw.received] == [f"helan/v1/{tenant}/plc-1/commands/c-1"]
        assert stored(store, tenant, "plc-2") == 0
    finally:
        gw.close()
        svc.close()
        await ingest.stop()
        await broker.stop()


class _Session:
    def __init__(self, client_id: str) -> None:
        self.client_id = client_id


@pytest.mark.parametrize(
    ("who", "topic", "action", "allowed"),
    [
        # the platform's services: error reports and commands down, nothing else up
        ("service", "helan/v1/acme/pump-1/errors", "publish", True),
        ("service", "helan/v1/acme/pump-1/commands/c-1", "publish", True),
        ("service", "helan/v1/acme/pump-1/telemetry", "publish", False),
        ("service", "helan/v1/acme/pump-1/commands/c-1/reply", "publish", False),
        ("service", "spBv1.0/acme/NCMD/gw-1", "publish", True),
        ("service", "spBv1.0/acme/DCMD/gw-1/pump-1", "publish", True),
        ("service", "spBv1.0/acme/NDATA/gw-1", "publish", False),
        ("service", "spBv1.0/+/#", "subscribe", True),
        # a device: its own topics; as a Sparkplug edge node, its own group and node id
        ("gw-1", "helan/v1/acme/gw-1/commands/c-1/reply", "publish", True),
        ("gw-1", "helan/v1/acme/gw-1/commands/+", "subscribe", True),
        ("gw-1", "helan/v1/acme/gw-2/telemetry", "publish", False),
        ("gw-1", "spBv1.0/acme/NBIRTH/gw-1", "publish", True),
        ("gw-1", "spBv1.0/acme/DDATA/gw-1/pump-1", "publish", True),
        ("gw-1", "spBv1.0/acme/NCMD/gw-1", "subscribe", True),
        ("gw-1", "spBv1.0/acme/DCMD/gw-1/+", "subscribe", True),
        ("gw-1", "spBv1.0/acme/NDATA/gw-2", "publish", False),
        ("gw-1", "spBv1.0/other/NDATA/gw-1", "publish", False),
        ("gw-1", "spBv1.0/acme/NDATA/+", "subscribe", False),
        ("gw-1", "spBv1.0/acme/NCMD/gw-1", "publish", False),
        ("gw-1", "spBv1.0/+/NCMD/gw-1", "subscribe", False),
        # a gateway: also the topics of the devices whose gateway it is, and no others
        ("gw-1", "helan/v1/acme/plc-1/telemetry", "publish", True),
        ("gw-1", "helan/v1/acme/plc-1/events", "publish", True),
        ("gw-1", "helan/v1/acme/plc-1/commands/c-1/reply", "publish", True),
        ("gw-1", "helan/v1/acme/plc-1/commands/+", "subscribe", True),
        ("gw-1", "helan/v1/acme/plc-1", "publish", False),
        ("gw-1", "helan/v1/acme/plc-2/telemetry", "publish", False),  # gw-2's device
        ("gw-1", "helan/v1/acme/plc-3/telemetry", "publish", False),  # no gateway
        ("gw-1", "helan/v1/acme/ghost/telemetry", "publish", False),  # no such device
        ("gw-1", "helan/v1/other/plc-1/telemetry", "publish", False),  # other tenant's plc-1
        ("gw-1", "helan/v1/acme/+/commands/+", "subscribe", False),
        ("gw-1", "helan/v1/acme/#", "subscribe", False),
    ],
)
def test_topic_rules(who: str, topic: str, action: str, allowed: bool) -> None:
    from amqtt.contexts import Action

    from helan.connect.mqtt.broker import SERVICE
    from helan.core.thing import DeviceRef

    directory = StaticDirectory.from_records(
        [
            {"tenant": "acme", "device": "gw-1"},
            {"tenant": "acme", "device": "plc-1", "gateway": "gw-1"},
            {"tenant": "acme", "device": "plc-2", "gateway": "gw-2"},
            {"tenant": "acme", "device": "plc-3"},
            {"tenant": "other", "device": "plc-1", "gateway": "gw-1"},
        ]
    )
    b = EmbeddedBroker(0, directory=directory)
    b._principals["svc"] = SERVICE
    b._principals["gw"] = DeviceRef(tenant="acme", device="gw-1", device_type=None)
    session = _Session("svc" if who == "service" else "gw")
    act = Action.PUBLISH if action == "publish" else Action.SUBSCRIBE
    assert b.allowed(session, topic, act) is allowed  # type: ignore[arg-type]
