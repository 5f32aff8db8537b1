"""Commands from the platform to the PLCs behind this gateway.

Each command arrives on ``helan/v1/{tenant}/{device}/commands/{id}``
(:mod:`helan.protocol.commands`). When an adapter maps the command's service to a PLC method
(OPC UA ``services``), the method is called with the ``params`` as its arguments; otherwise the
``params`` are the points to write (metric → value).
Before anything reaches a PLC the gateway refuses a command that has expired (the platform's
``expires_at``, against this machine's clock), one whose id it has already executed (a replay;
ids are kept in the buffer file until they expire, so a restart does not forget them), and a
write to a point that is unknown, not writable, or out of its declared range. Every param is
checked before the first is written, so a refused command writes nothing; a PLC that fails a
write part-way (Modbus and OPC UA have no multi-point transaction) gets a reply that names what
was written and what was not. The reply goes back on ``.../commands/{id}/reply``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping

from helan.edge.adapters.base import CommandFailed, CommandRefused
from helan.edge.buffer import Buffer
from helan.edge.readings import Scalar, now_ms
from helan.edge.uplink.session import UplinkUnavailable
from helan.protocol.commands import (
    EXECUTED,
    EXPIRED,
    MALFORMED,
    REFUSED,
    REPLAY,
    WRITE_FAILED,
    CommandMessage,
    Reply,
    WireError,
    command_topic,
    parse_command_topic,
    reply_topic,
)

log = logging.getLogger(__name__)

Check = Callable[[str, str, Scalar], None]
Write = Callable[[str, str, Scalar], Awaitable[None]]
# (device, service, params) -> the method's outputs, or None when no method carries the service
Call = Callable[[str, str, Mapping[str, Scalar]], Awaitable[list[Scalar] | None]]
Publish = Callable[[str, bytes], Awaitable[None]]


class CommandExecutor:
    def __init__(
        self,
        *,
        tenant: str,
        devices: Iterable[str],
        buffer: Buffer,
        check: Check,
        write: Write,
        call: Call,
    ) -> None:
        self.tenant = tenant
        self.devices = frozenset(devices)
        self.buffer = buffer
        self._check = check
        self._write = write
        self._call = call
        self.outcomes: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self.publish: Publish | None = None

    def subscriptions(self) -> tuple[str, ...]:
        return tuple(command_topic(self.tenant, d, "+") for d in sorted(self.devices))

    def on_message(self, topic: str, payload: bytes) -> None:
        """Called on the event loop for every message on a command topic."""
        task = asyncio.create_task(self._handle(topic, payload), name="edge-command")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, topic: str, payload: bytes) -> None:
        try:
            tenant, device, cid = parse_command_topic(topic)
        except WireError:
            self.outcomes[MALFORMED] += 1
            return
        if tenant != self.tenant or device not in self.devices:
            self.outcomes[REFUSED] += 1
            return
        try:
            command = CommandMessage.decode(payload)
            if command.id != cid:
                raise WireError(f"command id {command.id!r} differs from the topic's {cid!r}")
        except WireError as exc:
            await self._reply(
                device, cid, Reply(id=cid, status="failure", reason=MALFORMED, message=str(exc))
            )
            return
        reply = await self._execute(device, command)
        log.info(
            "command %s %s on %s: %s %s", cid, command.service, device, reply.reason, reply.message
        )
        await self._reply(device, cid, reply)

    async def _execute(self, device: str, command: CommandMessage) -> Reply:
        def failure(reason: str, message: str) -> Reply:
            return Reply(id=command.id, status="failure", reason=reason, message=message)

        now = now_ms()
        if command.expires_at <= now:
            return failure(EXPIRED, f"expired {now - command.expires_at} ms ago")
        if not self.buffer.first_sight(command.id, command.expires_at):
            return failure(REPLAY, "this command id was already received")
        try:
            outputs = await self._call(device, command.service, command.params)
            if outputs is not None:
                shown = ", ".join(repr(v) for v in outputs)
                return Reply(
                    id=command.id,
                    status="success",
                    reason=EXECUTED,
                    message=f"called {command.service}: [{shown}]"[:500],
                )
            if not command.params:
                return failure(REFUSED, "no points to write")
            for metric, value in command.params.items():
                self._check(device, metric, value)
        except CommandRefused as exc:
            return failure(REFUSED, str(exc))
        except CommandFailed as exc:
            return failure(WRITE_FAILED, str(exc))
        done: list[str] = []
        for metric, value in command.params.items():
            try:
                await self._write(device, metric, value)
            except (CommandRefused, CommandFailed) as exc:
                left = [m for m in command.params if m != metric and m not in done]
                parts = [f"{metric}: {exc}"]
                if done:
                    parts.append(f"already written: {', '.join(done)}")
                if left:
                    parts.append(f"not written: {', '.join(left)}")
                reason = REFUSED if isinstance(exc, CommandRefused) and not done else WRITE_FAILED
                return failure(reason, "; ".join(parts)[:500])
            done.append(metric)
        written = ", ".join(f"{k}={v!r}" for k, v in command.params.items())
        return Reply(id=command.id, status="success", reason=EXECUTED, message=f"wrote {written}")

    async def _reply(self, device: str, cid: str, reply: Reply) -> None:
        self.outcomes[reply.reason] += 1
        if self.publish is None:
            return
        try:
            await self.publish(reply_topic(self.tenant, device, cid), reply.encode())
        except UplinkUnavailable as exc:  # the platform's caller then times out
            log.warning("command %s: reply not sent: %s", cid, exc)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
