"""The embedded broker (a private nats-server): device credentials and topic rights from the
device directory, connect events, ingest with ack after commit, messages kept across restarts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import orjson
import paho.mqtt.client as paho
import pytest
from mqtt_helpers import METRICS, Device, now_ms
from prometheus_client import REGISTRY
from tests.conftest import eventually

from helan.connect.mqtt.broker import EmbeddedBroker
from helan.connect.mqtt.service import SERVICE_SECRET, SERVICE_USERNAME
from helan.connect.mqtt.subscriber import MqttIngest
from helan.connect.nats.rights import device_rights, service_rights, subject
from helan.core.thing import DeviceRef
from helan.ingest.static_directory import StaticDirectory
from helan.storage.meta import MetaStore
from helan.storage.meta.directory import MetaDirectory, new_device_secret
from helan.storage.meta.models import Device as DeviceRow
from helan.storage.meta.models import DeviceType, Tenant
from helan.storage.telemetry.base import RawQuery


@pytest.fixture
async def broker(settings, directory, live) -> AsyncIterator[EmbeddedBroker]:
    b = EmbeddedBroker(
        settings.mqtt_embedded_port, directory, live=live, data_dir=settings.data_dir
    )
    await b.start()
    yield b
    await b.stop()


def ingest_of(broker: EmbeddedBroker, pipeline, directory, live, settings, tenant) -> MqttIngest:
    url = f"mqtt://127.0.0.1:{broker.port}"
    return MqttIngest(
        url, pipeline, directory, live, settings, client_id=f"ingest-{tenant}", tenants=[tenant]
    )


@pytest.fixture
async def ingest(broker, pipeline, directory, live, settings, tenant) -> AsyncIterator[MqttIngest]:
    i = ingest_of(broker, pipeline, directory, live, settings, tenant)
    await i.start()
    yield i
    await i.stop()


def stored(store, tenant: str, device: str) -> int:
    q = RawQuery(tenant=tenant, device=device, metric="pressure", start_ms=0, end_ms=2**62)
    return store.raw(q).num_rows


async def connect(port: int, username: str | None, password: str | None) -> Device:
    dev = await asyncio.to_thread(Device, port, username, password, v5=False, reconnect=False)
    await eventually(lambda: dev.connected.is_set() or bool(dev.refused), 10)
    return dev


def body(ts: int, value: float = 3.0) -> bytes:
    return orjson.dumps({"ts": ts, "values": {"pressure": value}})


def broker_connections() -> float | None:
    return REGISTRY.get_sample_value("helan_broker_connections")


async def test_device_publishes_is_stored_and_is_live(broker, ingest, tenant, store, live) -> None:
    before = broker_connections()
    assert before is not None
    assert before >= 1
    dev = await connect(broker.port, f"{tenant}-dev-0", "secret-0")
    assert dev.connected.is_set()
    await eventually(lambda: (s := live.device(tenant, "dev-0")) is not None and s.connected)
    await eventually(lambda: broker_connections() == before + 1)
    ts = now_ms()
    infos = [dev.publish(f"helan/v1/{tenant}/dev-0/telemetry", body(ts + i)) for i in range(10)]
    await eventually(lambda: all(i.is_published() for i in infos))
    await eventually(lambda: stored(store, tenant, "dev-0") == 10)
    await eventually(lambda: ingest.acknowledged == 10)  # acked once committed
    dev.close()
    await eventually(lambda: not live.device(tenant, "dev-0").connected)
    await eventually(lambda: broker_connections() == before)


async def test_wrong_credentials_refused(broker, tenant) -> None:
    for username, password in ((f"{tenant}-dev-0", "wrong"), ("nobody", "x"), (None, None)):
        dev = await connect(broker.port, username, password)
        assert dev.refused
        assert not dev.connected.is_set()
        dev.close()
    assert broker.callout.refused == 3


async def test_service_name_needs_the_service_secret(broker) -> None:
    dev = await connect(broker.port, SERVICE_USERNAME, "guess")
    assert dev.refused
    dev.close()
    ok = await connect(broker.port, SERVICE_USERNAME, SERVICE_SECRET)
    assert ok.connected.is_set()
    ok.close()


async def test_device_may_not_take_the_ingest_session(broker, ingest, tenant) -> None:
    """A device credential with the ingest's client id would take over its session: refused."""
    thief = paho.Client(
        paho.CallbackAPIVersion.VERSION2,
        client_id=ingest.client_id,
        protocol=paho.MQTTv311,
        reconnect_on_failure=False,
    )
    thief.username_pw_set(f"{tenant}-dev-0", "secret-0")
    codes: list[paho.ReasonCode] = []
    thief.on_connect = lambda c, u, flags, code, p: codes.append(code)
    thief.connect("127.0.0.1", broker.port)
    thief.loop_start()
    await eventually(lambda: bool(codes))
    thief.loop_stop()
    assert codes[0].is_failure


async def test_publish_outside_its_rights_disconnects(broker, ingest, tenant, store) -> None:
    """dev-0's credential on dev-1's topic and another tenant's: nothing stored, and the device
    is disconnected (NATS would PUBACK and drop it; MQTT 3.1.1 has no negative PUBACK), and each
    refusal reaches the platform's error report (the callout's on_refused)."""
    refused: list[tuple[str, str]] = []
    broker.callout.on_refused = lambda t, d: refused.append((t, d))
    dev = await connect(broker.port, f"{tenant}-dev-0", "secret-0")
    dev.publish(f"helan/v1/{tenant}/dev-0/telemetry", body(now_ms()))  # its own: stored
    await eventually(lambda: stored(store, tenant, "dev-0") == 1)
    dev.publish(f"helan/v1/{tenant}/dev-1/telemetry", body(now_ms()))
    await eventually(lambda: not dev.client.is_connected())
    other = await connect(broker.port, f"{tenant}-dev-0", "secret-0")
    other.publish("helan/v1/other/dev-0/telemetry", body(now_ms()))
    await eventually(lambda: not other.client.is_connected())
    await asyncio.sleep(0.3)
    assert stored(store, tenant, "dev-1") == 0
    assert stored(store, "other", "dev-0") == 0
    assert broker.callout.kicked == 2
    assert refused == [(tenant, "dev-0"), (tenant, "dev-0")]
    dev.close()
    other.close()


async def test_wildcard_in_a_publish_topic_disconnects(broker, tenant, monkeypatch) -> None:
    monkeypatch.setattr(paho.Client, "_raise_for_invalid_topic", staticmethod(lambda t: None))
    for topic in (f"helan/v1/{tenant}/dev-0/+", f"helan/v1/{tenant}/dev-0/#"):
        dev = await connect(broker.port, f"{tenant}-dev-0", "secret-0")
        info = dev.publish(topic, b"{}")
        await eventually(lambda d=dev: not d.client.is_connected())
        # Never PUBACKed: either it went out and got no ack, or the broker had already closed
        # the connection when paho tried to send it (rc "no connection"; is_published raises).
        assert info.rc != paho.MQTT_ERR_SUCCESS or not info.is_published()
        dev.close()


async def test_device_cannot_subscribe_to_another(broker, ingest, tenant) -> None:
    spy = await connect(broker.port, f"{tenant}-dev-0", "secret-0")
    victim = await connect(broker.port, f"{tenant}-dev-1", "secret-1")
    granted: list[list[int]] = []
    spy.client.on_subscribe = lambda c, u, mid, codes, p: granted.append([x.value for x in codes])
    spy.client.subscribe(f"helan/v1/{tenant}/dev-1/#", qos=1)
    spy.client.subscribe("#", qos=1)
    spy.client.subscribe(f"helan/v1/{tenant}/dev-0/#", qos=1)  # its own: granted
    victim.client.subscribe(f"helan/v1/{tenant}/dev-1/errors", qos=1)
    await eventually(lambda: len(granted) == 3)
    assert sorted(granted) == [[1], [128], [128]]
    victim.publish(f"helan/v1/{tenant}/dev-1/telemetry", b"{bad json")
    await eventually(lambda: len(victim.received) == 1)  # its error report
    await asyncio.sleep(0.3)
    assert spy.received == []
    spy.close()
    victim.close()


async def test_ingest_session_survives_a_broker_restart(
    broker, pipeline, directory, live, settings, tenant, store
) -> None:
    """Messages the broker acknowledged while the ingest was away wait in JetStream (on disk),
    across a restart of the broker itself, and are stored once the ingest is back."""
    first = ingest_of(broker, pipeline, directory, live, settings, tenant)
    await first.start()
    await first.stop()
    dev = await connect(broker.port, f"{tenant}-dev-0", "secret-0")
    ts = now_ms()
    infos = [dev.publish(f"helan/v1/{tenant}/dev-0/telemetry", body(ts + i)) for i in range(30)]
    await eventually(lambda: all(i.is_published() for i in infos))
    dev.close()
    await broker.stop()
    await broker.start()  # same store directory
    again = ingest_of(broker, pipeline, directory, live, settings, tenant)
    await again.start()
    try:
        await eventually(lambda: stored(store, tenant, "dev-0") == 30, within=20)
    finally:
        await again.stop()


@pytest.fixture
def meta(tmp_path: Path) -> Iterator[MetaStore]:
    store = MetaStore(f"sqlite:///{tmp_path / 'meta.sqlite3'}")
    store.migrate()
    with store.session() as s:
        s.add(Tenant(id="acme", name="A"))
        s.flush()
        s.add(DeviceType(tenant_id="acme", id="pump", name="Pump", properties=METRICS))
    yield store
    store.close()


def add_device(meta: MetaStore, device: str, gateway: str | None = None) -> str:
    secret, digest = new_device_secret()
    with meta.session() as s:
        s.add(
            DeviceRow(
                tenant_id="acme",
                id=device,
                name=device,
                device_type_id="pump",
                credential_hash=digest,
                gateway_id=gateway,
            )
        )
    return secret


async def test_rights_follow_the_metadata_directory(meta, settings, live) -> None:
    """A device created after the broker started connects at once; a gateway speaks for its
    child; a disabled device is refused at its next connect."""
    directory = MetaDirectory(meta)
    broker = EmbeddedBroker(
        settings.mqtt_embedded_port, directory, live=live, data_dir=settings.data_dir
    )
    await broker.start()
    svc = await connect(broker.port, SERVICE_USERNAME, SERVICE_SECRET)
    try:
        gw_secret = add_device(meta, "gw-1")
        add_device(meta, "plc-1", gateway="gw-1")
        add_device(meta, "plc-2")
        svc.client.subscribe("helan/v1/acme/+/telemetry", qos=1)
        gw = await connect(broker.port, "gw-1@acme", gw_secret)
        assert gw.connected.is_set()
        gw.client.subscribe("helan/v1/acme/plc-1/commands/+", qos=1)
        await asyncio.sleep(0.3)
        gw.publish("helan/v1/acme/plc-1/telemetry", b"{}")
        await eventually(lambda: [t for t, _ in svc.received] == ["helan/v1/acme/plc-1/telemetry"])
        svc.publish("helan/v1/acme/plc-1/commands/c-1", b"{}")
        await eventually(
            lambda: [t for t, _ in gw.received] == ["helan/v1/acme/plc-1/commands/c-1"]
        )
        gw.publish("helan/v1/acme/plc-2/telemetry", b"{}")  # not its child
        await eventually(lambda: not gw.client.is_connected())
        gw.close()
        with meta.session() as s:
            s.get(DeviceRow, ("acme", "gw-1")).enabled = False  # type: ignore[union-attr]
        again = await connect(broker.port, "gw-1@acme", gw_secret)
        assert again.refused
        again.close()
        assert [t for t, _ in svc.received] == ["helan/v1/acme/plc-1/telemetry"]
    finally:
        svc.close()
        await broker.stop()


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("helan/v1/acme/pump-1/#", "helan.v1.acme.pump-1.>"),
        ("spBv1.0/acme/NBIRTH/gw-1", "spBv1//0.acme.NBIRTH.gw-1"),
        ("helan/v1/+/+/errors", "helan.v1.*.*.errors"),
    ],
)
def test_topic_to_subject(topic: str, expected: str) -> None:
    assert subject(topic) == expected


def test_rights_of_a_gateway_and_of_the_service() -> None:
    directory = StaticDirectory.from_records([{"tenant": "acme", "device": "gw-1"}])
    publish, receive = device_rights(
        directory, DeviceRef(tenant="acme", device="gw-1", device_type=None)
    )
    assert "helan.v1.acme.gw-1.>" in publish
    assert "spBv1//0.acme.DDATA.gw-1.>" in publish
    assert not any("CMD" in s for s in publish)
    assert "spBv1//0.acme.NCMD.gw-1" in receive
    assert "helan.v1.acme.gw-1" in receive  # the parent level of an MQTT "#" filter
    assert not any("DATA" in s for s in receive)
    service_publish, service_receive = service_rights()
    assert service_receive == [">"]
    assert "helan.v1.*.*.commands.*" in service_publish
    assert not any("telemetry" in s or "DATA" in s for s in service_publish)
