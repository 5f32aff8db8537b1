"""A platform restart loses no Sparkplug data: births are kept in the metadata database, so
DATA that Mosquitto queued for the ingest's persistent session while it was down still decodes."""

from __future__ import annotations

import sqlalchemy as sa
from sparkplug_helpers import SparkplugWorld, now_ms, sparkplug_world
from tests.conftest import eventually
from tests.edge.conftest import Recorder

from helan.connect.sparkplug.host import SparkplugHost
from helan.connect.sparkplug.service import SparkplugIngest
from helan.protocol.sparkplug import DataType, Metric, Payload, decode_payload, encode_payload
from helan.protocol.sparkplug.topics import SparkplugTopic
from helan.storage.meta.models import SparkplugBirth

__all__ = ["sparkplug_world"]

EDGE = "cell-3"


def _topic(group: str, kind: str, device: str | None = None) -> str:
    return f"spBv1.0/{group}/{kind}/{EDGE}" + (f"/{device}" if device else "")


def _births(w: SparkplugWorld) -> dict[str, int | None]:
    with w.platform.meta.session() as s:
        rows = s.scalars(sa.select(SparkplugBirth).where(SparkplugBirth.tenant_id == w.tenant))
        return {r.device: r.bdseq for r in rows}


def _nbirth(ts: int, bdseq: int) -> Payload:
    return Payload(
        timestamp=ts,
        seq=0,
        metrics=(
            Metric(name="bdSeq", datatype=DataType.UINT64, value=bdseq),
            Metric(name="Supply Voltage", alias=1, datatype=DataType.DOUBLE, value=230.0),
        ),
    )


def _dbirth(ts: int) -> Payload:
    return Payload(
        timestamp=ts,
        seq=1,
        metrics=(
            Metric(name="Spindle/Speed", alias=10, datatype=DataType.INT32, value=1000),
            Metric(name="Door Open", alias=11, datatype=DataType.BOOLEAN, value=False),
        ),
    )


async def test_data_queued_during_a_restart_is_stored(sparkplug_world: SparkplugWorld) -> None:
    w = sparkplug_world
    w.add_tenant(auto_create=True)
    g = w.tenant
    node = Recorder(w.url, f"spBv1.0/{g}/NCMD/#")
    ts = now_ms()
    try:
        node.publish(_topic(g, "NBIRTH"), encode_payload(_nbirth(ts, 7)))
        node.publish(_topic(g, "DBIRTH", "mill-1"), encode_payload(_dbirth(ts)))
        await eventually(lambda: len(w.stored("mill-1", "Spindle.Speed")) == 1)
        assert _births(w) == {"": 7, "mill-1": None}
        await eventually(lambda: w.ingest.acknowledged == 2)  # else the births come again

        await w.ingest.stop()  # the platform goes down; its session stays at the broker
        queued = 50
        for i in range(queued):  # seq 2.. continues the node's session
            body = Payload(
                timestamp=ts + 1 + i,
                seq=(2 + 2 * i) % 256,
                metrics=(
                    Metric(alias=10, datatype=DataType.INT32, value=1001 + i),
                    Metric(alias=11, value=i % 2 == 1),
                ),
            )
            node.publish(_topic(g, "DDATA", "mill-1"), encode_payload(body))
            nbody = Payload(
                timestamp=ts + 1 + i,
                seq=(3 + 2 * i) % 256,
                metrics=(Metric(alias=1, value=229.0 + i / 10),),
            )
            node.publish(_topic(g, "NDATA"), encode_payload(nbody))

        restarted = SparkplugIngest(
            url=w.url,
            pipeline=w.platform.pipeline,
            directory=w.platform.directory,
            live=w.platform.live,
            meta=w.platform.meta,
            settings=w.ingest.settings,
            client_id=w.ingest.client_id,
            groups=[g],
            session_expiry_s=30,
        )
        await restarted.start()
        try:
            await eventually(lambda: len(w.stored("mill-1", "Spindle.Speed")) == 1 + queued)
            await eventually(lambda: len(w.stored(EDGE, "Supply_Voltage")) == 1 + queued)
            assert len(w.stored("mill-1", "Door_Open")) == 1 + queued
            assert [r["value"] for r in w.stored("mill-1", "Spindle.Speed")] == [
                1000.0,
                *(1001.0 + i for i in range(queued)),
            ]
            assert restarted.rejected == {}  # no data_before_birth, no seq_gap
            # The sequence could not be followed across the restart: one rebirth request.
            await eventually(lambda: restarted.rebirths_requested == 1)
            await eventually(lambda: any(t.endswith(f"/NCMD/{EDGE}") for t, _ in node.snapshot()))
            ncmd = decode_payload(next(p for t, p in node.snapshot() if "/NCMD/" in t))
            assert [(m.name, m.value) for m in ncmd.metrics] == [("Node Control/Rebirth", True)]

            # The node's death is still recognised by the kept bdSeq, and forgets the births.
            death = Payload(metrics=(Metric(name="bdSeq", datatype=DataType.UINT64, value=7),))
            node.publish(_topic(g, "NDEATH"), encode_payload(death))
            await eventually(lambda: _births(w) == {})
            assert restarted.rejected == {}
        finally:
            await restarted.stop()
    finally:
        node.close()


def test_restored_host_takes_the_first_seq_as_baseline() -> None:
    before = SparkplugHost()
    ts = now_ms()
    nbirth = SparkplugTopic("acme", "NBIRTH", EDGE)
    dbirth = SparkplugTopic("acme", "DBIRTH", EDGE, "mill-1")
    kept = [
        *before.handle(nbirth, encode_payload(_nbirth(ts, 3)), ts).remember,
        *before.handle(dbirth, encode_payload(_dbirth(ts)), ts).remember,
    ]
    assert [(b.device, b.bdseq) for b in kept] == [(None, 3), ("mill-1", None)]
    assert kept[1].metrics == (
        ("Spindle/Speed", 10, DataType.INT32),
        ("Door Open", 11, DataType.BOOLEAN),
    )

    after = SparkplugHost()
    after.restore("acme", reversed(kept))  # device rows before the node's: order does not matter
    ddata = SparkplugTopic("acme", "DDATA", EDGE, "mill-1")
    body = Payload(
        timestamp=ts,
        seq=77,
        metrics=(Metric(alias=10, datatype=DataType.INT32, value=5), Metric(alias=11, value=True)),
    )
    first = after.handle(ddata, encode_payload(body), ts)
    assert [(s.metric, s.value) for s in first.samples] == [
        ("Spindle.Speed", 5),
        ("Door_Open", True),
    ]
    assert first.rebirth
    assert not first.rejected
    body = Payload(
        timestamp=ts, seq=78, metrics=(Metric(alias=10, datatype=DataType.INT32, value=6),)
    )
    second = after.handle(ddata, encode_payload(body), ts)
    assert not second.rebirth
    assert not second.rejected
    body = Payload(
        timestamp=ts, seq=90, metrics=(Metric(alias=10, datatype=DataType.INT32, value=7),)
    )
    assert after.handle(ddata, encode_payload(body), ts).rejected == {"seq_gap": 1}
    # A device birth whose node birth was not kept is not restored: its DATA asks for a rebirth.
    orphan = SparkplugHost()
    orphan.restore("acme", kept[1:])
    assert orphan.handle(ddata, encode_payload(body), ts).rejected == {"data_before_birth": 1}
