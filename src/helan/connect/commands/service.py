"""Sends commands over MQTT and waits for their replies; records and audits every outcome.

A command is stored ``pending`` before it is published, so a caller that gives up can still
read its fate later (``GET .../commands/{id}``). The reply subscription is not persistent: a
reply meant for a process that has gone has nobody left to wait for it, and the command has
then been recorded as pending and is shown as ``timeout`` once it expired.

Devices of third-party Sparkplug edge nodes get their commands as NCMD/DCMD writes instead
(:mod:`.sparkplug`); the outcome is then read from the node's own DATA, not from a reply.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gmqtt import Client, Subscription

from helan.connect.commands.sparkplug import (
    Confirmation,
    Outcome,
    SparkplugTarget,
    TargetUnavailable,
    find_target,
)
from helan.connect.mqtt.service import broker_address
from helan.core.errors import StorageUnavailable
from helan.ingest.live import now_ms
from helan.protocol.commands import (
    REPLY_FILTER,
    CommandMessage,
    Reply,
    Scalar,
    WireError,
    command_topic,
    parse_command_topic,
)
from helan.protocol.sparkplug.topics import BadSparkplugTopic, parse_topic
from helan.security.audit import record
from helan.security.principal import Principal
from helan.storage.meta import MetaStore
from helan.storage.meta.models import Command

log = logging.getLogger(__name__)
TIMEOUT = "timeout"


@dataclass(slots=True)
class _Waiter:
    tenant: str
    device: str
    future: asyncio.Future[Reply]


@dataclass(slots=True)
class _Watcher:
    confirmation: Confirmation
    future: asyncio.Future[Outcome]


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def effective_status(row: Command, at: datetime | None = None) -> str:
    """A pending command past its expiry has timed out, whoever recorded it."""
    if row.status == "pending" and row.expires_at <= (at or datetime.now(UTC)):
        return TIMEOUT
    return row.status


class CommandService:
    def __init__(self, *, url: str, meta: MetaStore, client_id: str = "helan-commands") -> None:
        self.url = url
        self.meta = meta
        self.client_id = client_id
        self.late_replies = 0
        self._client: Client | None = None
        self._waiting: dict[str, _Waiter] = {}
        self._watching: dict[str, _Watcher] = {}
        self._watched: dict[str, int] = {}  # Sparkplug topic filter -> commands watching it

    async def start(self) -> None:
        address = broker_address(self.url)
        client = Client(self.client_id)
        client.set_auth_credentials(address.username, address.password)
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        await client.connect(address.host, address.port, ssl=address.tls, version=address.protocol)
        self._client = client

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.disconnect()
            self._client = None

    def _on_connect(self, client: Client, flags: int, rc: int, properties: Any) -> None:
        client.subscribe(Subscription(REPLY_FILTER, qos=1))

    def _on_message(
        self, client: Client, topic: str, payload: bytes, qos: int, properties: Any
    ) -> int:
        if topic.startswith("spBv1.0/"):
            self._on_sparkplug(topic, payload)
            return 0
        try:
            tenant, device, cid = parse_command_topic(topic, reply=True)
            reply = Reply.decode(payload)
        except WireError as exc:
            log.info("command reply refused: %s", exc)
            return 0
        waiter = self._waiting.get(cid)
        if waiter is None or (waiter.tenant, waiter.device) != (tenant, device) or reply.id != cid:
            self.late_replies += 1  # too late, or not from the device the command went to
            log.info("command reply for %s/%s/%s has nobody waiting", tenant, device, cid)
            return 0
        if not waiter.future.done():
            waiter.future.set_result(reply)
        return 0

    def _on_sparkplug(self, topic: str, payload: bytes) -> None:
        try:
            where = parse_topic(topic)
        except BadSparkplugTopic:
            return
        for watcher in list(self._watching.values()):
            outcome = watcher.confirmation.feed(where, payload)
            if outcome is not None and not watcher.future.done():
                watcher.future.set_result(outcome)

    async def send(
        self,
        *,
        principal: Principal,
        tenant: str,
        device: str,
        service: str,
        params: dict[str, Scalar],
        timeout_s: float,
    ) -> Command:
        """Publish and wait up to ``timeout_s`` for the reply; returns the recorded command."""
        issued = now_ms()
        message = CommandMessage(
            id=uuid.uuid4().hex,
            service=service,
            params=params,
            issued_at=issued,
            expires_at=issued + int(timeout_s * 1000),
        )
        row = Command(
            tenant_id=tenant,
            id=message.id,
            device_id=device,
            service=service,
            params=params,
            status="pending",
            requested_by=f"{principal.kind}:{principal.subject}"[:100],
            created_at=_at(issued),
            expires_at=_at(message.expires_at),
        )
        await asyncio.to_thread(self._insert, row)
        client = self._client
        if client is None or not client.is_connected:
            await asyncio.to_thread(
                self._finish, principal, row, "failure", "unavailable", "the broker is unreachable"
            )
            raise StorageUnavailable("commands cannot be sent: the broker is unreachable")
        try:
            target = await asyncio.to_thread(find_target, self.meta, tenant, device)
        except TargetUnavailable as exc:
            outcome: Outcome = ("failure", exc.reason, exc.message)
        else:
            if target is None:
                outcome = await self._native(client, tenant, device, message, timeout_s)
            else:
                outcome = await self._sparkplug(client, target, message, timeout_s)
        return await asyncio.to_thread(self._finish, principal, row, *outcome)

    async def _native(
        self, client: Client, tenant: str, device: str, message: CommandMessage, timeout_s: float
    ) -> Outcome:
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._waiting[message.id] = _Waiter(tenant, device, future)
        try:
            client.publish(command_topic(tenant, device, message.id), message.encode(), qos=1)
            reply = await asyncio.wait_for(future, timeout_s)
            return (reply.status, reply.reason, reply.message)
        except TimeoutError:
            return ("timeout", TIMEOUT, f"no reply within {timeout_s:g} s")
        finally:
            self._waiting.pop(message.id, None)

    async def _sparkplug(
        self, client: Client, target: SparkplugTarget, message: CommandMessage, timeout_s: float
    ) -> Outcome:
        """NCMD/DCMD at QoS 0 as the spec asks; watching starts before it is sent (the broker
        handles our SUBSCRIBE before our PUBLISH), so a prompt report is not missed."""
        try:
            payload = target.command(message.params, message.issued_at)
        except TargetUnavailable as exc:
            return ("failure", exc.reason, exc.message)
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._watching[message.id] = _Watcher(Confirmation(target, message.params), future)
        filters = target.filters()
        for f in filters:
            self._watched[f] = self._watched.get(f, 0) + 1
            if self._watched[f] == 1:
                client.subscribe(Subscription(f, qos=0))
        try:
            client.publish(target.command_topic, payload, qos=0)
            return await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            what = f"the node did not report the written values within {timeout_s:g} s"
            return ("timeout", TIMEOUT, what)
        finally:
            self._watching.pop(message.id, None)
            for f in filters:
                self._watched[f] -= 1
                if self._watched[f] == 0:
                    del self._watched[f]
                    if client.is_connected:
                        client.unsubscribe(f)

    def _insert(self, row: Command) -> None:
        with self.meta.session() as s:
            s.add(row)

    def _finish(
        self, principal: Principal, row: Command, status: str, reason: str, message: str
    ) -> Command:
        """Record the outcome and its audit entry in one transaction."""
        with self.meta.session() as s:
            stored = s.get(Command, (row.tenant_id, row.id))
            assert stored is not None
            stored.status = status
            stored.reason = reason[:32]
            stored.message = message[:500]
            stored.completed_at = datetime.now(UTC)
            record(
                s,
                actor_kind=principal.kind,
                actor=principal.subject,
                tenant=row.tenant_id,
                action="device.command",
                object_type="device",
                object_id=row.device_id,
                result=status,
                detail={
                    "command_id": row.id,
                    "service": row.service,
                    "params": row.params,
                    "reason": reason,
                    "message": message[:200],
                },
            )
            s.flush()
            return stored
