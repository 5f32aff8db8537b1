"""A gateway's ``identification`` attribute reaches the device row (and so the inventory)
through the real MQTT ingest on the machine's Mosquitto; malformed ones are refused with a
report while the message's other attributes still count."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from tests.conftest import eventually

from helan.config import Settings
from helan.connect.mqtt.subscriber import MqttIngest
from helan.ingest.live import LiveState
from helan.ingest.pipeline import IngestPipeline
from helan.ingest.static_directory import StaticDirectory
from helan.security.advisories.store import inventory
from helan.security.assets.identification import (
    BadIdentification,
    IdentificationRecorder,
    clean,
    store,
)
from helan.security.principal import Principal, Role
from helan.services import devices, tenants
from helan.storage.meta import MetaStore
from helan.storage.telemetry import open_store

M340 = {
    "vendor_name": "Schneider Electric",
    "product_code": "BMXP342020",
    "revision": "V3.40",
    "source": "modbus",
}


@pytest.fixture
def meta(tmp_path: Path) -> Iterator[MetaStore]:
    root = Principal(kind="user", subject="root", tenant=None, role=Role.PLATFORM_ADMIN)
    m = MetaStore(f"sqlite:///{tmp_path / 'meta.sqlite3'}")
    m.migrate()
    tenants.create_tenant(m, root, tenants.NewTenant(id="acme", name="Acme"))
    devices.create_device(
        m,
        root,
        "acme",
        devices.NewDevice(id="plc-1", name="PLC", vendor="Siemens", attributes={"line": 1}),
    )
    yield m
    m.close()


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("WAGO", "must be an object"),
        ({"vendor_name": "WAGO"}, "source"),
        ({"vendor_name": "WAGO", "source": "bacnet"}, "source"),
        ({"vendor_name": "WAGO", "colour": "red", "source": "modbus"}, "colour"),
        ({"vendor_name": 7, "source": "modbus"}, "must be text"),
        ({"vendor_name": "W" * 201, "source": "modbus"}, "must be text"),
        ({"vendor_name": " \x00 ", "source": "opcua"}, "names nothing"),
    ],
)
def test_malformed_identifications_are_refused(value: Any, why: str) -> None:
    with pytest.raises(BadIdentification, match=why):
        clean(value)


def test_control_characters_are_dropped_and_store_writes_only_changes(meta: MetaStore) -> None:
    ident = clean({"vendor_name": "Schneider\x1b[31m Electric ", "source": "modbus"})
    assert ident == {"vendor_name": "Schneider[31m Electric", "source": "modbus"}
    assert store(meta, "acme", "plc-1", clean(M340))
    assert not store(meta, "acme", "plc-1", clean(M340))  # unchanged
    assert not store(meta, "acme", "ghost", clean(M340))  # no such device
    (asset,) = inventory(meta, "acme")
    assert (asset.vendor_key, asset.model, asset.firmware, asset.source) == (
        "schneider_electric",
        "BMXP342020",
        "V3.40",
        "modbus",
    )


def _publish(url: str, messages: list[tuple[str, bytes]]) -> None:
    host, port = url.removeprefix("mqtt://").rsplit(":", 1)
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"gw-{uuid.uuid4().hex[:8]}")
    c.connect(host, int(port))
    c.loop_start()
    for topic, body in messages:
        c.publish(topic, body, qos=1).wait_for_publish(5)
    c.loop_stop()
    c.disconnect()


async def test_gateway_identification_reaches_the_inventory(
    mosquitto_url: str, meta: MetaStore, settings: Settings
) -> None:
    tenant = "acme"
    directory = StaticDirectory.from_records(
        [{"tenant": tenant, "device": "plc-1", "username": "u", "secret": "s", "metrics": []}]
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    telemetry = open_store(settings)
    live = LiveState(offline_after_s=60)
    pipeline = IngestPipeline(telemetry, live, settings)
    recorder = IdentificationRecorder(meta)
    ingest = MqttIngest(
        mosquitto_url,
        pipeline,
        directory,
        live,
        settings,
        client_id=f"ingest-{uuid.uuid4().hex[:8]}",
        tenants=[tenant],
        identification=recorder,
    )
    await pipeline.start()
    await ingest.start()
    topic = f"helan/v1/{tenant}/plc-1/attributes"
    try:
        await asyncio.sleep(0.2)
        bad = {"edge_gateway": "gw-1", "identification": {"vendor_name": "X"}}
        good = {"edge_gateway": "gw-2", "identification": M340}
        await asyncio.to_thread(
            _publish, mosquitto_url, [(topic, orjson.dumps(bad)), (topic, orjson.dumps(good))]
        )
        await eventually(
            lambda: live.device(tenant, "plc-1").attributes.get("edge_gateway") == "gw-2"
        )
        await recorder.drain()
    finally:
        await ingest.stop()
        await pipeline.stop()
        telemetry.close()
    assert pipeline.counters.snapshot(tenant)["rejected_by_reason"] == {"malformed": 1}
    row = devices.get_device(meta, tenant, "plc-1")
    assert row.attributes == {"line": 1, "identification": M340}  # the others kept
    (asset,) = inventory(meta, tenant)
    assert (asset.vendor_key, asset.firmware, asset.order_number) == (
        "schneider_electric",
        "V3.40",
        "BMXP342020",
    )
