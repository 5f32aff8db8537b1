"""Commands to a third-party Sparkplug edge node: NCMD/DCMD writes by metric name with the
birth's datatype, confirmed when the node reports the value back; refusals, silence and deaths
give a clear outcome. The node is a paho client answering by hand-built payloads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import paho.mqtt.client as paho
import pytest
import sqlalchemy as sa
from sparkplug_helpers import SparkplugWorld, now_ms, sparkplug_world
from tests.conftest import eventually
from tests.edge.conftest import Recorder

from helan.connect.commands.service import CommandService
from helan.connect.commands.sparkplug import TargetUnavailable, find_target
from helan.protocol.sparkplug import DataType, Metric, Payload, decode_payload, encode_payload
from helan.protocol.sparkplug.topics import HELAN_COMMANDS
from helan.security.principal import Principal, Role
from helan.storage.meta.models import AuditEntry

__all__ = ["sparkplug_world"]

EDGE = "press-line"
OPERATOR = Principal(kind="user", subject="olga", tenant=None, role=Role.OPERATOR)


class ThirdPartyNode(Recorder):
    """Answers NCMD/DCMD writes with NDATA/DDATA carrying the new values by alias, unless
    ``silent``; records every command it got."""

    def __init__(self, url: str, group: str) -> None:
        self.group = group
        self.silent = False
        self.seq = 0
        self.aliases = {"Supply Voltage": 1, "Spindle/Speed": 10, "Mode": 11}
        super().__init__(url, f"spBv1.0/{group}/NCMD/{EDGE}", f"spBv1.0/{group}/DCMD/{EDGE}/#")

    def next_seq(self) -> int:
        self.seq, seq = (self.seq + 1) % 256, self.seq
        return seq

    def _on_message(self, c: object, u: object, msg: paho.MQTTMessage) -> None:
        super()._on_message(c, u, msg)
        body = decode_payload(bytes(msg.payload))
        if self.silent or any(m.name == "Node Control/Rebirth" for m in body.metrics):
            return
        kind = "NDATA" if "/NCMD/" in msg.topic else "DDATA"
        topic = msg.topic.replace("NCMD", kind).replace("DCMD", kind)
        echo = tuple(
            Metric(alias=self.aliases[m.name or ""], datatype=m.datatype, value=m.value)
            for m in body.metrics
        )
        payload = Payload(timestamp=now_ms(), seq=self.next_seq(), metrics=echo)
        self.client.publish(topic, encode_payload(payload), qos=1)  # from paho's thread

    def birth(self, *, helan: bool = False) -> None:
        node = [
            Metric(name="bdSeq", datatype=DataType.UINT64, value=1),
            Metric(name="Supply Voltage", alias=1, datatype=DataType.FLOAT, value=230.0),
        ]
        if helan:
            node.append(Metric(name=HELAN_COMMANDS, datatype=DataType.STRING, value="helan/v1"))
        self.seq = 0
        nbirth = Payload(timestamp=now_ms(), seq=self.next_seq(), metrics=tuple(node))
        self.publish(f"spBv1.0/{self.group}/NBIRTH/{EDGE}", encode_payload(nbirth))
        device = (
            Metric(name="Spindle/Speed", alias=10, datatype=DataType.INT32, value=0),
            Metric(name="Mode", alias=11, datatype=DataType.STRING, value="auto"),
        )
        dbirth = Payload(timestamp=now_ms(), seq=self.next_seq(), metrics=device)
        self.publish(f"spBv1.0/{self.group}/DBIRTH/{EDGE}/press-9", encode_payload(dbirth))

    def commands(self) -> list[tuple[str, Payload]]:
        return [(t.split("/")[2], decode_payload(p)) for t, p in self.snapshot()]


@pytest.fixture
async def commands(sparkplug_world: SparkplugWorld) -> AsyncIterator[CommandService]:
    service = CommandService(
        url=sparkplug_world.url,
        meta=sparkplug_world.platform.meta,
        client_id=f"cmd-{sparkplug_world.tenant}",
    )
    await service.start()
    await eventually(lambda: service._client is not None and service._client.is_connected)
    yield service
    await service.stop()


async def _send(
    service: CommandService, w: SparkplugWorld, device: str, params: dict[str, object], t: float
) -> tuple[str, str | None, str | None]:
    row = await service.send(
        principal=OPERATOR,
        tenant=w.tenant,
        device=device,
        service="write",
        params=params,  # type: ignore[arg-type]
        timeout_s=t,
    )
    return row.status, row.reason, row.message


async def test_dcmd_and_ncmd_writes_confirmed_by_data(
    sparkplug_world: SparkplugWorld, commands: CommandService
) -> None:
    w = sparkplug_world
    w.add_tenant(auto_create=True)
    node = ThirdPartyNode(w.url, w.tenant)
    try:
        node.birth()
        await eventually(lambda: len(w.stored("press-9", "Mode")) == 1)

        status = await _send(commands, w, "press-9", {"Spindle.Speed": 1500, "Mode": "manual"}, 5)
        assert status[:2] == ("success", "confirmed")
        kind, dcmd = node.commands()[-1]
        assert kind == "DCMD"
        assert [(m.name, m.datatype, m.value) for m in dcmd.metrics] == [
            ("Spindle/Speed", DataType.INT32, 1500),
            ("Mode", DataType.STRING, "manual"),
        ]
        await eventually(lambda: w.stored("press-9", "Spindle.Speed")[-1]["value"] == 1500.0)

        status = await _send(commands, w, EDGE, {"Supply_Voltage": 231.5}, 5)
        assert status[:2] == ("success", "confirmed")
        kind, ncmd = node.commands()[-1]
        assert kind == "NCMD"
        assert [(m.name, m.datatype, m.value) for m in ncmd.metrics] == [
            ("Supply Voltage", DataType.FLOAT, 231.5)
        ]

        # Refused before anything is sent: a metric the birth did not declare, a value that
        # does not fit the metric's Sparkplug type.
        sent = len(node.commands())
        status = await _send(commands, w, "press-9", {"Feed": 1}, 5)
        assert status == ("failure", "refused", "press-9 declared no metric 'Feed' in its birth")
        status = await _send(commands, w, "press-9", {"Spindle.Speed": 2**40}, 5)
        assert status[:2] == ("failure", "refused")
        assert "out of range for INT32" in (status[2] or "")
        assert len(node.commands()) == sent

        # A node that does not report the value back: timeout, said as such.
        node.silent = True
        status = await _send(commands, w, "press-9", {"Spindle.Speed": 10}, 0.5)
        assert status == (
            "timeout",
            "timeout",
            "the node did not report the written values within 0.5 s",
        )
        # The device dies while a write waits: failure, and later commands see it offline.
        node.publish(
            f"spBv1.0/{w.tenant}/DDEATH/{EDGE}/press-9",
            encode_payload(Payload(timestamp=now_ms(), seq=node.next_seq())),
        )
        await eventually(lambda: not w.platform.live.device(w.tenant, "press-9").connected)  # type: ignore[union-attr]
        status = await _send(commands, w, "press-9", {"Spindle.Speed": 10}, 5)
        assert status == (
            "failure",
            "offline",
            "'press-9' is offline (no DBIRTH since its DDEATH)",
        )
    finally:
        node.close()
    assert commands._watched == {}  # every confirmation subscription was given back
    with w.platform.meta.session() as s:
        audited = s.scalars(
            sa.select(AuditEntry.result).where(
                AuditEntry.tenant_id == w.tenant, AuditEntry.action == "device.command"
            )
        ).all()
    assert audited == ["success", "success", "failure", "failure", "timeout", "failure"]


async def test_death_while_waiting_and_helan_gateways_keep_native_commands(
    sparkplug_world: SparkplugWorld, commands: CommandService
) -> None:
    w = sparkplug_world
    w.add_tenant(auto_create=True)
    node = ThirdPartyNode(w.url, w.tenant)
    try:
        node.birth()
        await eventually(lambda: len(w.stored("press-9", "Mode")) == 1)
        node.silent = True
        pending = asyncio.create_task(_send(commands, w, "press-9", {"Mode": "off"}, 5))
        await eventually(lambda: len(node.commands()) == 1)
        death = Payload(metrics=(Metric(name="bdSeq", datatype=DataType.UINT64, value=1),))
        node.publish(f"spBv1.0/{w.tenant}/NDEATH/{EDGE}", encode_payload(death))
        assert await pending == (
            "failure",
            "offline",
            f"{EDGE} died before confirming the write",
        )
        await eventually(lambda: _route(w) == "offline")  # the NDEATH forgot the births
        node.birth()
        await eventually(lambda: _route(w) == "sparkplug")
        node.birth(helan=True)  # a Helan gateway: native commands with id, expiry and reply
        await eventually(lambda: _route(w) == "native")
    finally:
        node.close()


def _route(w: SparkplugWorld) -> str:
    try:
        target = find_target(w.platform.meta, w.tenant, "press-9")
    except TargetUnavailable as exc:
        return exc.reason
    return "native" if target is None else "sparkplug"
