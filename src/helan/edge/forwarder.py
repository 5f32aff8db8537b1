"""Moves buffered sample sets upstream and deletes them only after the broker's PUBACK.

After a (re)connect the rows already buffered are the backlog, drained oldest first; rows
arriving since are live. Each round sends up to ``window`` live rows and then up to
``backlog_window`` backlog rows, so live data waits at most one round however large the
backlog, and the backlog still drains at a steady rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from helan.edge.adapters.base import Backoff
from helan.edge.buffer import Buffer, Row
from helan.edge.readings import ConnectionStatus
from helan.edge.uplink.base import Encoder, Message
from helan.edge.uplink.session import MessageHandler, MqttSession, UplinkUnavailable

log = logging.getLogger(__name__)
IDLE_CHECK_S = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class UplinkOptions:
    url: str
    client_id: str
    username: str | None = None
    password: str | None = None
    keepalive_s: int = 30
    window: int = 256
    backlog_window: int = 256
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0


class Forwarder:
    def __init__(
        self,
        buffer: Buffer,
        encoder: Encoder,
        options: UplinkOptions,
        *,
        on_command: MessageHandler | None = None,
        subscriptions: tuple[str, ...] = (),
    ) -> None:
        self.buffer = buffer
        self.encoder = encoder
        self.options = options
        self.status = ConnectionStatus("uplink")
        self.messages_sent = 0
        self.points_sent = 0
        self._on_command = on_command
        self._subscriptions = subscriptions
        self._session: MqttSession | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def wake(self) -> None:
        """New rows are in the buffer."""
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="edge-forwarder")

    async def stop(self) -> None:
        """Stop sending; a live session ends cleanly (with the format's goodbye, e.g. NDEATH)."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()  # its cleanup says goodbye after the last data, then closes
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.status.connected = False

    async def _run(self) -> None:
        o = self.options
        backoff = Backoff(o.reconnect_min_s, o.reconnect_max_s)
        while True:
            session = MqttSession(
                url=o.url,
                client_id=o.client_id,
                username=o.username,
                password=o.password,
                will=self.encoder.will(),
                keepalive_s=o.keepalive_s,
                on_message=self._on_command,
                subscriptions=self.encoder.subscriptions() + self._subscriptions,
            )
            try:
                await session.connect()
                self.status.connected = True
                self.status.last_error = None
                backoff.reset()
                self._session = session
                await self._pump(session)
            except UplinkUnavailable as exc:
                self.status.failed(str(exc))
                log.warning("uplink %s: %s", o.url, exc)
            finally:
                if self._stopping and not session.lost.done():
                    with contextlib.suppress(UplinkUnavailable, TimeoutError):
                        await asyncio.wait_for(self._send(session, self.encoder.session_end()), 2)
                self._session = None
                await session.close()
            await backoff.wait()
            self.status.reconnects += 1

    async def publish(self, topic: str, payload: bytes) -> None:
        """Send one message now (a command reply), outside the buffer: it means nothing once
        the caller stopped waiting, so it is not kept for a later connection."""
        session = self._session
        if session is None:
            raise UplinkUnavailable("uplink not connected")
        await session.publish(topic, payload)

    async def _send(self, session: MqttSession, messages: list[Message]) -> None:
        futures = [session.publish(m.topic, m.payload, retain=m.retain) for m in messages]
        if futures:
            await asyncio.gather(*futures)
            self.messages_sent += len(futures)

    async def _pump(self, session: MqttSession) -> None:
        await self._send(session, self.encoder.session_start())
        boundary = self.buffer.last_id()
        live_after, backlog_after = boundary, 0
        while True:
            self._wake.clear()
            if self.encoder.needs_rebirth():
                await self._send(session, self.encoder.session_start())
            live = self.buffer.take(after=live_after, limit=self.options.window)
            backlog: list[Row] = []
            if backlog_after < boundary:
                backlog = self.buffer.take(
                    after=backlog_after, upto=boundary, limit=self.options.backlog_window
                )
                if not backlog:
                    backlog_after = boundary
            if not live and not backlog:
                await self._idle(session)
                continue
            messages: list[Message] = []
            for rows, historical in ((live, False), (backlog, True)):
                for row in rows:
                    messages.extend(self.encoder.encode(row.sample, historical=historical))
            await self._send(session, messages)
            self.buffer.delete([r.id for r in live] + [r.id for r in backlog])
            self.points_sent += sum(len(r.sample.values) for r in (*live, *backlog))
            if live:
                live_after = live[-1].id
            if backlog:
                backlog_after = backlog[-1].id

    async def _idle(self, session: MqttSession) -> None:
        """Wait for new rows, a lost connection or a command (checked each second)."""
        waiter = asyncio.ensure_future(self._wake.wait())
        either: set[asyncio.Future[Any]] = {waiter, session.lost}
        try:
            await asyncio.wait(either, timeout=IDLE_CHECK_S, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if session.lost.done():
            raise UplinkUnavailable(session.lost.result())
