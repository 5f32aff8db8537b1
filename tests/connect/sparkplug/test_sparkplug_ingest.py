"""Sparkplug B ingest as a third-party edge node would drive it: payloads built with the codec,
published to the machine's Mosquitto, read back from the real store, metadata and live state."""

from __future__ import annotations

import sqlalchemy as sa
from sparkplug_helpers import SparkplugWorld, now_ms, sparkplug_world
from tests.conftest import eventually
from tests.edge.conftest import Recorder

from helan.core.points import Quality
from helan.protocol.sparkplug import DataType, Metric, Payload, decode_payload, encode_payload
from helan.storage.meta.models import AuditEntry, Device, DeviceType

__all__ = ["sparkplug_world"]

EDGE = "line-7"


def _bdseq(value: int) -> Metric:
    return Metric(name="bdSeq", datatype=DataType.UINT64, value=value)


def _publish(
    broker: Recorder, group: str, kind: str, body: Payload, device: str | None = None
) -> None:
    topic = f"spBv1.0/{group}/{kind}/{EDGE}" + (f"/{device}" if device else "")
    broker.publish(topic, encode_payload(body))


def _rebirths(broker: Recorder) -> int:
    count = 0
    for topic, payload in broker.snapshot():
        if topic.endswith(f"/NCMD/{EDGE}"):
            metrics = decode_payload(payload).metrics
            count += any(m.name == "Node Control/Rebirth" and m.value is True for m in metrics)
    return count


async def test_birth_data_death_with_auto_create(sparkplug_world: SparkplugWorld) -> None:
    w = sparkplug_world
    w.add_tenant(auto_create=True)
    g = w.tenant
    broker = Recorder(w.url, f"spBv1.0/{g}/NCMD/#")
    ts = now_ms()
    try:
        _publish(
            broker,
            g,
            "NBIRTH",
            Payload(
                timestamp=ts,
                seq=0,
                metrics=(
                    _bdseq(3),
                    Metric(name="Node Control/Rebirth", datatype=DataType.BOOLEAN, value=False),
                    Metric(name="Uptime", alias=1, datatype=DataType.INT64, value=10),
                ),
            ),
        )
        _publish(
            broker,
            g,
            "DBIRTH",
            Payload(
                timestamp=ts,
                seq=1,
                metrics=(
                    Metric(name="Hydraulic/Pressure", alias=2, datatype=DataType.FLOAT, value=1.5),
                    Metric(name="Count", alias=3, datatype=DataType.INT32, value=-5),
                    Metric(name="Running", alias=4, datatype=DataType.BOOLEAN, value=True),
                    Metric(name="Mode", alias=5, datatype=DataType.STRING, value="auto"),
                    Metric(name="Raw", alias=6, datatype=DataType.BYTES, value=b"\x01"),
                ),
            ),
            device="press-1",
        )
        _publish(
            broker,
            g,
            "DDATA",
            Payload(
                timestamp=ts + 10,
                seq=2,
                metrics=(
                    Metric(alias=2, datatype=DataType.FLOAT, value=2.5),
                    Metric(
                        alias=3, datatype=DataType.INT32, value=-7
                    ),  # negative Int32: two.s complement on the wire
                    Metric(alias=4, value=None, properties={"Quality": 0, "Error": "wire break"}),
                    Metric(alias=5, value="manual", properties={"Quality": 64}),
                ),
            ),
            device="press-1",
        )
        # Backlog: stored, never the live value.
        _publish(
            broker,
            g,
            "DDATA",
            Payload(
                timestamp=ts + 20,
                seq=3,
                metrics=(
                    Metric(
                        alias=2,
                        datatype=DataType.FLOAT,
                        value=0.5,
                        timestamp=ts - 5000,
                        is_historical=True,
                    ),
                ),
            ),
            device="press-1",
        )
        await eventually(lambda: len(w.stored("press-1", "Hydraulic.Pressure")) == 3)
    finally:
        pass

    pressure = w.stored("press-1", "Hydraulic.Pressure")
    assert [r["value"] for r in pressure] == [0.5, 1.5, 2.5]
    assert [r["value"] for r in w.stored("press-1", "Count")] == [-5.0, -7.0]
    running = w.stored("press-1", "Running")
    assert [(r["value"], r["quality"]) for r in running] == [(1.0, 0), (None, Quality.BAD)]
    mode = w.stored("press-1", "Mode")
    assert [(r["text"], r["quality"]) for r in mode] == [("auto", 0), ("manual", Quality.UNCERTAIN)]
    assert w.stored(EDGE, "Uptime")[0]["value"] == 10.0
    assert w.stored("press-1", "Raw") == []  # bytes have no thing-model type: refused

    live = w.platform.live.device(g, "press-1")
    assert live is not None
    assert live.connected
    assert live.values["Hydraulic.Pressure"].value == 2.5  # not the historical 0.5
    with w.platform.meta.session() as s:
        press = s.get(Device, (g, "press-1"))
        assert press is not None
        assert press.attributes == {"sparkplug_node": f"{g}/{EDGE}"}
        model = s.get(DeviceType, (g, "press-1"))
        assert model is not None
        assert {p["name"]: p["type"] for p in model.properties} == {
            "Hydraulic.Pressure": "float",
            "Count": "int",
            "Running": "bool",
            "Mode": "string",
        }
        audit = s.scalars(sa.select(AuditEntry.action).where(AuditEntry.tenant_id == g)).all()
        assert audit.count("device.auto_create") == 2

    try:
        # A sequence gap is counted and asks for a rebirth; its points are still good.
        _publish(
            broker,
            g,
            "DDATA",
            Payload(
                timestamp=ts + 30,
                seq=9,
                metrics=(
                    Metric(alias=2, datatype=DataType.FLOAT, value=3.5),
                    Metric(alias=99, value=1.0),
                ),
            ),
            device="press-1",
        )
        broker.publish(f"spBv1.0/{g}/DDATA/{EDGE}/press-1", b"\x12\x07\x08")  # truncated
        await eventually(lambda: w.ingest.rejected["malformed"] == 1)
        assert w.ingest.rejected["seq_gap"] == 1
        assert w.ingest.rejected["unknown_alias"] == 1
        assert w.stored("press-1", "Hydraulic.Pressure")[-1]["value"] == 3.5
        await eventually(lambda: _rebirths(broker) == 1)

        # A death certificate of an older session is ignored; the session's own one is not.
        _publish(broker, g, "NDEATH", Payload(timestamp=ts, metrics=(_bdseq(2),)))
        await eventually(lambda: w.ingest.rejected["stale_death"] == 1)
        assert w.platform.live.device(g, "press-1").connected  # type: ignore[union-attr]
        _publish(broker, g, "NDEATH", Payload(timestamp=ts, metrics=(_bdseq(3),)))
        await eventually(lambda: not w.platform.live.device(g, "press-1").connected)  # type: ignore[union-attr]
        assert not w.platform.live.device(g, EDGE).connected  # type: ignore[union-attr]
    finally:
        broker.close()
    stats = w.platform.pipeline.counters.snapshot(g)
    assert stats["rejected_by_reason"]["seq_gap"] == 1


async def test_data_before_birth_is_refused_and_rebirth_requested(
    sparkplug_world: SparkplugWorld,
) -> None:
    w = sparkplug_world
    w.add_tenant(auto_create=True)
    broker = Recorder(w.url, f"spBv1.0/{w.tenant}/NCMD/#")
    try:
        _publish(broker, w.tenant, "NDATA", Payload(seq=4, metrics=(Metric(alias=1, value=1),)))
        _publish(
            broker, w.tenant, "DDATA", Payload(seq=5, metrics=(Metric(alias=2, value=1),)), "m1"
        )
        await eventually(lambda: w.ingest.rejected["data_before_birth"] == 2)
        await eventually(lambda: _rebirths(broker) == 1)  # one request, not one per message
    finally:
        broker.close()
    assert w.ingest.rebirths_requested == 1


async def test_without_auto_create_unknown_metrics_and_devices_are_refused(
    sparkplug_world: SparkplugWorld,
) -> None:
    w = sparkplug_world
    w.add_tenant(auto_create=False)
    w.add_device("press-2", [{"name": "Temp", "type": "float", "max": 100.0}])
    broker = Recorder(w.url)
    ts = now_ms()
    try:
        _publish(broker, w.tenant, "NBIRTH", Payload(timestamp=ts, seq=0, metrics=(_bdseq(0),)))
        _publish(
            broker,
            w.tenant,
            "DBIRTH",
            Payload(
                timestamp=ts,
                seq=1,
                metrics=(
                    Metric(name="Temp", alias=1, datatype=DataType.DOUBLE, value=40.0),
                    Metric(name="Secret", alias=2, datatype=DataType.DOUBLE, value=1.0),
                ),
            ),
            device="press-2",
        )
        _publish(
            broker,
            w.tenant,
            "DDATA",
            Payload(
                timestamp=ts + 1,
                seq=2,
                metrics=(
                    Metric(alias=1, value=140.0),  # outside the thing model's range
                ),
            ),
            device="press-2",
        )
        _publish(
            broker,
            w.tenant,
            "DBIRTH",
            Payload(
                timestamp=ts,
                seq=3,
                metrics=(Metric(name="Temp", alias=3, datatype=DataType.DOUBLE, value=1.0),),
            ),
            device="ghost",
        )
        await eventually(lambda: w.ingest.rejected["unknown_device"] == 1)
        # The birth's accepted value is written by the batching pipeline: wait for the commit.
        await eventually(lambda: len(w.stored("press-2", "Temp")) == 1)
    finally:
        broker.close()
    assert [r["value"] for r in w.stored("press-2", "Temp")] == [40.0]
    assert w.ingest.rejected["unknown_metric"] == 1
    assert w.ingest.rejected["out_of_range"] == 1
    with w.platform.meta.session() as s:
        assert s.get(Device, (w.tenant, "ghost")) is None
        props = s.get(DeviceType, (w.tenant, "press")).properties  # type: ignore[union-attr]
        assert [p["name"] for p in props] == ["Temp"]
