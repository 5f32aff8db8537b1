"""Device events end to end on the machine's Mosquitto: validated against the thing model,
stored in the metadata database before the PUBACK, readable over the API, stored once however
often the broker delivers them, and left unacknowledged while they cannot be stored."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa
from mqtt_helpers import Device, now_ms, records, unique_tenant
from tests.conftest import eventually

from helan.admin.bootstrap import bootstrap_admin
from helan.api.app import create_app
from helan.config import Settings
from helan.connect.mqtt.subscriber import MqttIngest
from helan.core.events import EventRow
from helan.ingest.live import LiveState
from helan.ingest.pipeline import IngestPipeline
from helan.ingest.static_directory import StaticDirectory
from helan.platform import Platform
from helan.storage.meta import MetaStore
from helan.storage.meta.events import EventStore
from helan.storage.meta.models import DeviceEvent

pytestmark = pytest.mark.mosquitto

EVENTS: list[dict[str, Any]] = [
    {
        "name": "jam",
        "level": "fault",
        "outputs": [
            {"name": "station", "type": "int", "min": 1, "max": 8},
            {"name": "force", "type": "float"},
        ],
    },
    {"name": "door_open", "level": "warning"},
    {"name": "cycle", "outputs": [{"name": "ok", "type": "bool"}]},
]
Y2100 = 4_102_444_800_000


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def count_events(meta: MetaStore, tenant: str) -> int:
    with meta.session() as s:
        stmt = sa.select(sa.func.count()).where(DeviceEvent.tenant_id == tenant)
        return int(s.scalar(stmt) or 0)


@dataclass
class Plant:
    platform: Platform
    ingest: MqttIngest
    http: httpx.AsyncClient
    admin: dict[str, str]
    tenant: str


@pytest.fixture
async def plant(tmp_path: Path, mosquitto_url: str) -> AsyncIterator[Plant]:
    """A platform whose tenant has a ``press`` thing model with events and a device
    ``press-1``, made through the API; the ingest listens to that tenant only."""
    tenant = unique_tenant()
    settings = Settings(data_dir=tmp_path / "var", mqtt_url=mosquitto_url, ingest_batch_ms=20)
    platform = Platform.build(settings)
    await platform.pipeline.start()
    password = bootstrap_admin(platform.meta)
    ingest = MqttIngest(
        mosquitto_url,
        platform.pipeline,
        platform.directory,
        platform.live,
        settings,
        client_id=f"ingest-{tenant}",
        tenants=[tenant],
    )
    await ingest.start()
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(platform)), base_url="http://helan"
    )
    r = await http.post("/api/v1/auth/token", json={"username": "admin", "password": password})
    admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
    base = f"/api/v1/tenants/{tenant}"
    for url, body in (
        ("/api/v1/tenants", {"id": tenant, "name": tenant}),
        (f"{base}/device-types", {"id": "press", "name": "Press", "events": EVENTS}),
        (f"{base}/devices", {"id": "press-1", "name": "Press 1", "device_type": "press"}),
    ):
        r = await http.post(url, json=body, headers=admin)
        assert r.status_code == 201, r.text
    try:
        yield Plant(platform, ingest, http, admin, tenant)
    finally:
        await http.aclose()
        await ingest.stop()
        await ingest.forget_sessions()
        await platform.pipeline.stop()
        if platform.ident is not None:
            platform.ident.close()
        platform.telemetry.close()
        platform.meta.close()


async def test_events_are_stored_reported_and_listed(plant: Plant, mosquitto_url: str) -> None:
    tenant = plant.tenant
    base = f"helan/v1/{tenant}/press-1"
    device = Device(port_of(mosquitto_url))
    device.client.subscribe(f"{base}/errors", qos=0)
    await asyncio.sleep(0.2)
    ts = now_ms()
    jam = orjson.dumps({"ts": ts, "event": "jam", "data": {"station": 3, "force": 120}})
    mixed = json.dumps(
        [
            {"ts": ts + 1, "event": "door_open"},
            {"ts": ts + 1, "event": "explosion"},
            {"ts": ts + 1, "event": "jam", "data": {"station": "three", "force": 1.0}},
            {"ts": ts + 1, "event": "jam", "data": {"station": 1, "force": float("nan")}},
            {"ts": Y2100, "event": "door_open"},
            {"ts": ts + 2, "event": "cycle", "data": {"ok": True}},
        ]
    ).encode()
    for payload in (jam, mixed, jam):  # the second jam is the same event again
        device.publish(f"{base}/events", payload, qos=1)
    await eventually(lambda: plant.ingest.acknowledged == 3 and len(device.received) >= 1)
    assert count_events(plant.platform.meta, tenant) == 3

    r = await plant.http.get(
        f"/api/v1/tenants/{tenant}/devices/press-1/events", headers=plant.admin
    )
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [(e["event"], e["level"], e["ts"], e["data"]) for e in items] == [
        ("cycle", "info", ts + 2, {"ok": True}),
        ("door_open", "warning", ts + 1, {}),
        ("jam", "fault", ts, {"station": 3, "force": 120.0}),
    ]

    [(topic, raw)] = device.received
    report = orjson.loads(raw)
    assert topic == f"{base}/errors"
    assert (report["topic"], report["accepted"], report["rejected"]) == ("events", 2, 4)
    assert [(e["index"], e["event"], e["reason"]) for e in report["errors"]] == [
        (1, "explosion", "unknown_event"),
        (2, "jam", "wrong_type"),
        (3, "jam", "not_finite"),
        (4, "door_open", "ts_future"),
    ]
    snap = plant.platform.pipeline.counters.snapshot(tenant)
    assert snap["events"] == 4  # the repeated jam was accepted again and stored once
    assert snap["events_rejected_by_reason"] == {
        "unknown_event": 1,
        "wrong_type": 1,
        "not_finite": 1,
        "ts_future": 1,
    }
    assert snap["writer"]["events_written"] == 3
    assert snap["writer"]["event_duplicates"] == 1
    device.close()


class FlakyEvents:
    """``down``: every write fails. ``lost_ack``: the next write commits and then fails (the
    PUBACK is never sent, as after a crash between commit and ack), then ``ok``."""

    def __init__(self, inner: EventStore) -> None:
        self.inner = inner
        self.mode = "down"

    def write(self, rows: Sequence[EventRow]) -> list[EventRow]:
        if self.mode == "down":
            raise OSError("metadata database offline")
        new = self.inner.write(rows)
        if self.mode == "lost_ack":
            self.mode = "ok"
            raise OSError("connection lost after the commit")
        return new


@pytest.fixture
async def meta(tmp_path: Path) -> AsyncIterator[MetaStore]:
    store = MetaStore(f"sqlite:///{tmp_path / 'meta.sqlite3'}")
    store.migrate()
    yield store
    store.close()


def event_directory(tenant: str) -> StaticDirectory:
    return StaticDirectory.from_records([r | {"events": EVENTS} for r in records(tenant)])


async def test_failed_event_write_is_not_acknowledged_and_redelivery_is_stored_once(
    mosquitto_url: str, store, settings: Settings, meta: MetaStore
) -> None:
    tenant = unique_tenant()
    flaky = FlakyEvents(EventStore(meta))
    live = LiveState(offline_after_s=60)
    pipeline = IngestPipeline(
        store, live, settings.model_copy(update={"ingest_batch_ms": 20}), events=flaky
    )
    await pipeline.start()
    ingest = MqttIngest(
        mosquitto_url,
        pipeline,
        event_directory(tenant),
        live,
        settings,
        client_id=f"ingest-{tenant}",
        tenants=[tenant],
    )
    await ingest.start()
    device = Device(port_of(mosquitto_url))
    ts = now_ms()
    for i in range(5):
        body = {"ts": ts + i, "event": "jam", "data": {"station": i + 1, "force": 1.0}}
        device.publish(f"helan/v1/{tenant}/dev-0/events", orjson.dumps(body), qos=1)
    await eventually(lambda: pipeline.counters.event_write_failures >= 1)
    assert ingest.acknowledged == 0
    assert count_events(meta, tenant) == 0
    flaky.mode = "lost_ack"
    await eventually(lambda: ingest.acknowledged == 5, within=20)
    assert count_events(meta, tenant) == 5
    # The write whose ack was lost stored its events; their redelivery found them stored.
    counters = pipeline.counters
    assert counters.event_duplicates >= 1
    assert counters.events_written + counters.event_duplicates == 5
    assert counters.event_write_failures >= 2
    device.close()
    await ingest.stop()
    await ingest.forget_sessions()
    await pipeline.stop()


async def test_without_an_event_store_events_are_refused_not_dropped(
    mosquitto_url: str, pipeline: IngestPipeline, live: LiveState, settings: Settings
) -> None:
    tenant = unique_tenant()
    ingest = MqttIngest(
        mosquitto_url,
        pipeline,
        event_directory(tenant),
        live,
        settings,
        client_id=f"ingest-{tenant}",
        tenants=[tenant],
    )
    await ingest.start()
    device = Device(port_of(mosquitto_url))
    device.client.subscribe(f"helan/v1/{tenant}/dev-0/errors", qos=0)
    await asyncio.sleep(0.2)
    body = {"event": "door_open"}
    device.publish(f"helan/v1/{tenant}/dev-0/events", orjson.dumps(body), qos=1)
    await eventually(lambda: len(device.received) == 1)
    report = orjson.loads(device.received[0][1])
    assert report["error"]["code"] == "events_unavailable"
    assert report["accepted"] == 0
    snap = pipeline.counters.snapshot(tenant)
    assert snap["events"] == 0
    assert snap["events_rejected_by_reason"] == {"events_unavailable": 1}
    device.close()
    await ingest.stop()
    await ingest.forget_sessions()
