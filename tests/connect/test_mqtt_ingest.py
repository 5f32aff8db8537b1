"""MqttIngest on the machine's Mosquitto (MQTT 5, persistent session, ack after commit)."""

from __future__ import annotations

import asyncio
import uuid

import orjson
import pytest
from mqtt_helpers import Device, now_ms
from tests.conftest import eventually

from helan.connect.mqtt.subscriber import MqttIngest
from helan.ingest.live import LiveState
from helan.ingest.pipeline import IngestPipeline
from helan.storage.telemetry.base import RawQuery

pytestmark = pytest.mark.mosquitto


def count_stored(store, tenant: str, device: str, metric: str = "pressure") -> int:
    q = RawQuery(
        tenant=tenant, device=device, metric=metric, start_ms=0, end_ms=2**62, limit=100_000
    )
    return store.raw(q).num_rows


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


@pytest.mark.parametrize("connections", [1, 4], ids=["plain", "shared"])
async def test_telemetry_errors_attributes_events(
    mosquitto_url, tenant, directory, pipeline, live, store, settings, connections
) -> None:
    ingest = MqttIngest(
        mosquitto_url,
        pipeline,
        directory,
        live,
        settings,
        client_id=f"ingest-{tenant}",
        tenants=[tenant],
        connections=connections,
    )
    assert ingest.connections == connections
    await ingest.start()
    device = Device(port_of(mosquitto_url))
    device.client.subscribe(f"helan/v1/{tenant}/dev-0/errors", qos=0)
    await asyncio.sleep(0.2)
    base = f"helan/v1/{tenant}/dev-0"
    ts = now_ms()
    for i in range(20):
        body = {"ts": ts + i, "values": {"pressure": float(i), "count": i}}
        device.publish(f"{base}/telemetry", orjson.dumps(body), qos=1)
    device.publish(f"{base}/telemetry", b"{broken", qos=1)
    device.publish(f"{base}/telemetry", orjson.dumps({"values": {"pressure": 500, "x": 1}}), qos=1)
    device.publish(f"{base}/attributes", orjson.dumps({"firmware": "1.2.3"}), qos=1)
    device.publish(f"{base}/events", orjson.dumps({"event": "door_open"}), qos=1)
    device.publish(f"helan/v1/{tenant}/ghost/telemetry", orjson.dumps({"values": {"a": 1}}), qos=1)
    await eventually(
        lambda: count_stored(store, tenant, "dev-0") == 20 and len(device.received) >= 2
    )
    errors = [orjson.loads(p) for _, p in device.received]
    assert count_stored(store, tenant, "dev-0", "count") == 20
    malformed = next(e for e in errors if "error" in e)
    assert malformed["error"]["code"] == "malformed"
    partial = next(e for e in errors if e.get("rejected") == 2)
    assert {e["reason"] for e in partial["errors"]} == {"out_of_range", "unknown_metric"}
    await eventually(lambda: live.device(tenant, "dev-0").attributes.get("firmware") == "1.2.3")
    snap = pipeline.counters.snapshot(tenant)
    assert snap["accepted"] == 40
    assert snap["rejected_by_reason"] == {
        "malformed": 1,
        "out_of_range": 1,
        "unknown_metric": 1,
        "unknown_device": 1,
    }
    assert snap["events"] == 0  # door_open is not in the thing model (tests: test_mqtt_events.py)
    assert snap["events_rejected_by_reason"] == {"unknown_event": 1}
    assert live.device(tenant, "dev-0").values["pressure"].value == 19.0
    device.close()
    await ingest.stop()


class FlakyStore:
    def __init__(self, inner) -> None:
        self.inner = inner
        self.failing = True

    def write(self, batch):
        if self.failing:
            raise OSError("store offline")
        return self.inner.write(batch)

    def __getattr__(self, name):
        return getattr(self.inner, name)


async def test_unacked_messages_are_redelivered_after_store_failure(
    mosquitto_url, tenant, directory, store, settings
) -> None:
    """Ack after commit: while the store refuses writes nothing is acknowledged; once it
    recovers, the broker's redelivery brings every message back and all are stored."""
    flaky = FlakyStore(store)
    live = LiveState(offline_after_s=60)
    pipe = IngestPipeline(flaky, live, settings.model_copy(update={"ingest_batch_ms": 20}))
    await pipe.start()
    ingest = MqttIngest(
        mosquitto_url,
        pipe,
        directory,
        live,
        settings,
        client_id=f"ingest-{tenant}",
        tenants=[tenant],
    )
    await ingest.start()
    device = Device(port_of(mosquitto_url))
    ts = now_ms()
    for i in range(50):
        device.publish(
            f"helan/v1/{tenant}/dev-1/telemetry",
            orjson.dumps({"ts": ts + i, "values": {"pressure": 1.0}}),
            qos=1,
        )
    await eventually(lambda: pipe.counters.write_failures >= 1)
    assert count_stored(store, tenant, "dev-1") == 0
    flaky.failing = False
    await eventually(lambda: count_stored(store, tenant, "dev-1") == 50, within=20)
    device.close()
    await ingest.stop()
    await pipe.stop()


async def test_persistent_session_keeps_messages_while_ingest_is_down(
    mosquitto_url, tenant, directory, pipeline, live, store, settings
) -> None:
    client_id = f"ingest-{uuid.uuid4().hex[:8]}"
    ingest = MqttIngest(
        mosquitto_url, pipeline, directory, live, settings, client_id=client_id, tenants=[tenant]
    )
    await ingest.start()  # returns once subscribed: the persistent session exists
    await ingest.stop()
    device = Device(port_of(mosquitto_url))
    ts = now_ms()
    for i in range(30):
        device.publish(
            f"helan/v1/{tenant}/dev-0/telemetry",
            orjson.dumps({"ts": ts + i, "values": {"pressure": 2.0}}),
            qos=1,
        )
    await asyncio.sleep(0.3)
    assert count_stored(store, tenant, "dev-0") == 0
    again = MqttIngest(
        mosquitto_url, pipeline, directory, live, settings, client_id=client_id, tenants=[tenant]
    )
    await again.start()
    await eventually(lambda: count_stored(store, tenant, "dev-0") == 30)
    device.close()
    await again.stop()
