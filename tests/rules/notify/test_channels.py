"""Every channel kind against a real peer: e-mail to aiosmtpd, WeCom and DingTalk robot
formats (with DingTalk's signature checked as DingTalk checks it) on an HTTP receiver, MQTT
to the machine's Mosquitto, a device command through the command service and a device that
answers over Mosquitto."""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import hashlib
import hmac
import time
import uuid
from collections.abc import Iterator
from email.message import Message
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from gmqtt import Client, Subscription

from helan.config import Settings
from helan.connect.commands.service import CommandService
from helan.protocol.commands import CommandMessage, Reply, reply_topic
from helan.rules.notify import Delivery
from helan.rules.notify.channels.command import NO_COMMANDS
from helan.storage.meta import MetaStore
from helan.storage.meta.models import AuditEntry, Device, DeviceType, Tenant
from helan.storage.meta.models_notify import NotificationDelivery
from tests.conftest import eventually, free_port
from tests.rules.notify.conftest import add_channel, enqueue, notice
from tests.rules.notify.receiver import Receiver


def _rows(meta: MetaStore) -> list[NotificationDelivery]:
    with meta.session() as s:
        return list(s.scalars(sa.select(NotificationDelivery).order_by(NotificationDelivery.id)))


async def _once(meta: MetaStore, settings: Settings, **kw: Any) -> None:
    worker = Delivery(meta, settings, **kw)
    try:
        await worker.run_once()
    finally:
        await worker.stop()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


async def test_email_reaches_a_real_smtp_server(
    meta: MetaStore, fast: Settings, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    settings = fast.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
    to = ["ops@example.com", "李工@example.cn"]
    add_channel(meta, id="mail", kind="email", config={"recipients": to})
    enqueue(meta, [notice(1, channels=("mail",))])
    await _once(meta, settings)
    ((rcpt, msg),) = box.messages
    assert rcpt == to
    assert "告警触发" in msg["Subject"]
    assert "Alarm raised" in msg["Subject"]
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "设备:pump-1" in text
    assert "Device: pump-1" in text
    assert "temp = 91.5" in text
    assert msg["X-Helan-Idempotency-Key"] == "acme:rule1:pump-1:1:raised:mail"
    assert _rows(meta)[0].status == "sent"


async def test_email_without_smtp_server_is_a_dead_letter(meta: MetaStore, fast: Settings) -> None:
    add_channel(meta, id="mail", kind="email", config={"recipients": ["ops@example.com"]})
    enqueue(meta, [notice(1, channels=("mail",))])
    await _once(meta, fast)
    (row,) = _rows(meta)
    assert row.status == "dead"
    assert row.last_error == "no SMTP server: set HELAN_SMTP_HOST"


async def test_email_server_down_is_retried(meta: MetaStore, fast: Settings) -> None:
    settings = fast.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": free_port()})
    add_channel(meta, id="mail", kind="email", config={"recipients": ["ops@example.com"]})
    enqueue(meta, [notice(1, channels=("mail",))])
    await _once(meta, settings)
    (row,) = _rows(meta)
    assert row.status == "pending"
    assert row.attempts == 1
    assert "SMTP" in (row.last_error or "")


async def test_wecom_markdown_and_errcode(meta: MetaStore, fast: Settings) -> None:
    ok = Receiver(answer={"errcode": 0, "errmsg": "ok"})
    bad = Receiver(answer={"errcode": 93000, "errmsg": "invalid webhook url"})
    await ok.start()
    await bad.start()
    try:
        add_channel(meta, id="wx", kind="wecom", config={"url": f"{ok.url}?key=K1"})
        add_channel(meta, id="wx-bad", kind="wecom", config={"url": f"{bad.url}?key=K2"})
        enqueue(meta, [notice(1, channels=("wx", "wx-bad"))])
        await _once(meta, fast)
    finally:
        await ok.stop()
        await bad.stop()
    (got,) = ok.got
    assert got.query == {"key": "K1"}
    assert got.body["msgtype"] == "markdown"
    content = got.body["markdown"]["content"]
    assert "告警触发 / Alarm raised" in content
    assert "温度过高" in content
    rows = {r.channel_id: r for r in _rows(meta)}
    assert rows["wx"].status == "sent"
    assert rows["wx-bad"].status == "pending"  # HTTP 200 but errcode != 0: not accepted
    assert "errcode 93000" in (rows["wx-bad"].last_error or "")


async def test_dingtalk_signature_verifies(meta: MetaStore, fast: Settings) -> None:
    secret = "SEC" + uuid.uuid4().hex
    robot = Receiver(answer={"errcode": 0, "errmsg": "ok"})
    await robot.start()
    try:
        url = f"{robot.url}?access_token=T0KEN"
        add_channel(meta, id="ding", kind="dingtalk", config={"url": url, "secret": secret})
        enqueue(meta, [notice(1, channels=("ding",))])
        await _once(meta, fast)
    finally:
        await robot.stop()
    (got,) = robot.got
    assert got.query["access_token"] == "T0KEN"
    timestamp = got.query["timestamp"]
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    assert got.query["sign"] == expected  # what DingTalk recomputes
    assert abs(int(timestamp) - time.time() * 1000) < 60_000  # epoch ms, as DingTalk wants
    assert got.body["msgtype"] == "markdown"
    assert set(got.body["markdown"]) == {"title", "text"}
    assert "Alarm raised" in got.body["markdown"]["title"]
    assert _rows(meta)[0].status == "sent"


async def test_mqtt_publish_to_mosquitto(
    meta: MetaStore, fast: Settings, mosquitto_url: str
) -> None:
    settings = fast.model_copy(update={"mqtt_url": mosquitto_url})
    host, port = mosquitto_url.split("://", 1)[1].rsplit(":", 1)
    got: list[tuple[str, bytes]] = []
    sub = Client(f"test-notify-{uuid.uuid4().hex[:8]}")
    sub.on_message = lambda c, topic, payload, qos, props: got.append((topic, payload)) or 0
    await sub.connect(host, int(port))
    run = uuid.uuid4().hex[:8]
    sub.subscribe(Subscription(f"helan/notify/acme/{run}/#", qos=1))
    await asyncio.sleep(0.2)
    try:
        add_channel(
            meta, id="mq", kind="mqtt", config={"topic": f"{run}/{{device}}/{{kind}}", "qos": 1}
        )
        enqueue(meta, [notice(1, channels=("mq",))])
        await _once(meta, settings)
        await eventually(lambda: got, within=5)
    finally:
        await sub.disconnect()
    topic, payload = got[0]
    assert topic == f"helan/notify/acme/{run}/pump-1/raised"
    assert orjson.loads(payload)["key"] == "acme:rule1:pump-1:1:raised:mq"
    assert _rows(meta)[0].status == "sent"


async def test_mqtt_broker_down_is_retried(meta: MetaStore, fast: Settings) -> None:
    settings = fast.model_copy(update={"mqtt_url": f"mqtt://127.0.0.1:{free_port()}"})
    add_channel(meta, id="mq", kind="mqtt", config={"topic": "alarms", "qos": 1})
    enqueue(meta, [notice(1, channels=("mq",))])
    await _once(meta, settings)
    (row,) = _rows(meta)
    assert row.status == "pending"
    assert "MQTT publish failed" in (row.last_error or "")


async def test_command_without_command_service_fails_clearly(
    meta: MetaStore, fast: Settings
) -> None:
    config = {"device": "pump-1", "command": "stop", "params": {}}
    add_channel(meta, id="cmd", kind="command", config=config)
    enqueue(meta, [notice(1, channels=("cmd",))])
    await _once(meta, fast)
    (row,) = _rows(meta)
    assert row.status == "pending"
    assert row.last_error == NO_COMMANDS


async def test_command_through_the_command_service(
    meta: MetaStore, fast: Settings, mosquitto_url: str
) -> None:
    tenant = f"t{uuid.uuid4().hex[:10]}"  # the machine's Mosquitto is shared
    with meta.session() as s:
        s.add(Tenant(id=tenant, name="T"))
        s.flush()
        services = [{"name": "stop", "inputs": [{"name": "fast", "type": "bool"}]}]
        s.add(DeviceType(tenant_id=tenant, id="pump", name="Pump", services=services))
        s.flush()
        s.add(
            Device(
                tenant_id=tenant,
                id="pump-1",
                name="P",
                device_type_id="pump",
                credential_hash="0" * 64,
            )
        )
    host, port = mosquitto_url.split("://", 1)[1].rsplit(":", 1)
    device = Client(f"test-dev-{uuid.uuid4().hex[:8]}")
    seen: list[CommandMessage] = []

    def on_message(client: Client, topic: str, payload: bytes, qos: int, props: Any) -> int:
        command = CommandMessage.decode(payload)
        seen.append(command)
        reply = Reply(id=command.id, status="success", reason="ok")
        client.publish(reply_topic(tenant, "pump-1", command.id), reply.encode(), qos=1)
        return 0

    device.on_message = on_message
    await device.connect(host, int(port))
    device.subscribe(Subscription(f"helan/v1/{tenant}/pump-1/commands/+", qos=1))
    commands = CommandService(url=mosquitto_url, meta=meta)
    await commands.start()
    await asyncio.sleep(0.2)
    try:
        config = {"device": "pump-1", "command": "stop", "params": {"fast": True}}
        add_channel(meta, id="cmd", kind="command", config=config, tenant=tenant)
        bad = {"device": "pump-1", "command": "explode", "params": {}}
        add_channel(meta, id="cmd-bad", kind="command", config=bad, tenant=tenant)
        enqueue(meta, [notice(1, channels=("cmd", "cmd-bad"), tenant=tenant)])
        await _once(meta, fast, commands=commands)
    finally:
        await commands.stop()
        await device.disconnect()
    assert [(c.service, c.params) for c in seen] == [("stop", {"fast": True})]
    rows = {r.channel_id: r for r in _rows(meta)}
    assert rows["cmd"].status == "sent"
    assert rows["cmd-bad"].status == "dead"
    assert "command refused" in (rows["cmd-bad"].last_error or "")
    with meta.session() as s:
        actors = set(
            s.scalars(sa.select(AuditEntry.actor).where(AuditEntry.action == "device.command"))
        )
    assert actors == {"notify:cmd", "notify:cmd-bad"}
