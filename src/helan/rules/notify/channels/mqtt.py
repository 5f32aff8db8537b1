"""MQTT: the webhook's JSON body published to ``helan/notify/{tenant}/<topic template>`` on the
platform's broker (``settings.mqtt_url``, else the embedded one), QoS 0 or 1.

The tenant prefix is not optional: a tenant's channel must not publish into another tenant's
topics nor onto device command topics. With QoS 1 the send counts only once the broker's
PUBACK came back (gmqtt's publish does not wait for it; :class:`_AckedStorage` hears it).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

from gmqtt import Client
from gmqtt.storage import PersistentStorage

from helan.config import Settings
from helan.connect.mqtt.service import broker_address
from helan.rules.notify.channels.base import ChannelSpec, SendContext, SendFailed
from helan.rules.notify.channels.webhook import body
from helan.rules.notify.configs import MqttConfig

PREFIX = "helan/notify"


def broker_url(settings: Settings) -> str:
    """What :attr:`helan.platform.Platform.mqtt_url` says, without a platform."""
    return settings.mqtt_url or f"mqtt://127.0.0.1:{settings.mqtt_embedded_port}"


def _level(value: object) -> str:
    text = str(value)
    for bad in ("/", "+", "#", "\x00"):
        text = text.replace(bad, "_")
    return text or "_"


def topic(template: str, notice: dict[str, Any]) -> str:
    fields = {
        name: _level(notice.get(name, ""))
        for name in ("tenant", "device", "rule_id", "alarm_id", "kind", "severity")
    }
    return f"{PREFIX}/{_level(notice.get('tenant', ''))}/{template.format(**fields)}"


class _AckedStorage(PersistentStorage):  # type: ignore[misc]
    """gmqtt's in-flight store, which also resolves a future when a message leaves it on
    PUBACK (and fails them when the store is wiped: those were never acknowledged)."""

    def __init__(self) -> None:
        super().__init__()
        self.last_mid: int | None = None
        self.acks: dict[int, asyncio.Future[None]] = {}

    def push_message(self, mid: int, raw_package: bytes) -> None:
        super().push_message(mid, raw_package)
        self.last_mid = mid

    def remove_message_by_mid(self, mid: int) -> None:
        super().remove_message_by_mid(mid)
        waiter = self.acks.pop(mid, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def clear(self) -> None:
        super().clear()
        for waiter in self.acks.values():
            if not waiter.done():
                waiter.set_exception(ConnectionError("connection reset before PUBACK"))
        self.acks.clear()


class Publisher:
    """One lazily made broker connection per delivery worker, remade after a failure."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: Any = None
        self._storage: _AckedStorage | None = None
        self._lock = asyncio.Lock()

    async def _connect(self) -> tuple[Any, _AckedStorage]:
        if self._client is not None and self._storage is not None and self._client.is_connected:
            return self._client, self._storage
        await self._drop()
        address = broker_address(broker_url(self.settings))
        storage = _AckedStorage()
        client = Client(f"helan-notify-{uuid.uuid4().hex[:12]}", persistent_storage=storage)
        client.set_auth_credentials(address.username, address.password)
        await asyncio.wait_for(
            client.connect(
                address.host,
                address.port,
                ssl=address.tls,
                version=address.protocol,
                raise_exc=True,
            ),
            self.settings.notify_timeout_s,
        )
        self._client, self._storage = client, storage
        return client, storage

    async def publish(self, name: str, payload: bytes, qos: int) -> None:
        try:
            async with self._lock:
                client, storage = await self._connect()
                storage.last_mid = None
                client.publish(name, payload, qos=qos)
                waiter: asyncio.Future[None] | None = None
                if qos > 0 and storage.last_mid is not None:
                    waiter = asyncio.get_running_loop().create_future()
                    storage.acks[storage.last_mid] = waiter
            if waiter is not None:
                await asyncio.wait_for(waiter, self.settings.notify_timeout_s)
        except Exception as exc:  # noqa: BLE001 - gmqtt raises its own types; all: not sent
            await self._drop()
            raise SendFailed(f"MQTT publish failed: {type(exc).__name__}: {exc}") from None

    async def _drop(self) -> None:
        client, self._client, self._storage = self._client, None, None
        if client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), 2)

    async def close(self) -> None:
        async with self._lock:
            await self._drop()


async def send(ctx: SendContext, channel: ChannelSpec, notice: dict[str, Any]) -> None:
    config = MqttConfig.model_validate(channel.config)
    if ctx.mqtt is None:
        raise SendFailed("no MQTT publisher in this process")
    await ctx.mqtt.publish(topic(config.topic, notice), body(notice), config.qos)
