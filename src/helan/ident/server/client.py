"""An asyncio Handle client: one shared UDP socket with pending replies keyed by request id,
TCP for answers too large for a datagram."""

from __future__ import annotations

import asyncio
import itertools
import random
from dataclasses import dataclass

from helan.ident.codes import EnvelopeFlag, OpCode, ResponseCode
from helan.ident.errors import HandleError, WireError
from helan.ident.wire import messages as m

Address = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Target:
    host: str
    port: int
    tcp: bool = False

    def __str__(self) -> str:
        return f"{self.host}:{self.port}/{'tcp' if self.tcp else 'udp'}"


class _ClientProtocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.pending: dict[int, asyncio.Future[bytes]] = {}

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        ids = m.peek_ids(data)
        if ids is None:
            return
        future = self.pending.pop(ids[0], None)
        if future is not None and not future.done():
            future.set_result(data)


class HandleClient:
    def __init__(self, *, timeout: float = 1.0, tries: int = 2) -> None:
        self.timeout = timeout
        self.tries = tries
        self._ids = itertools.count(random.randrange(1, 1 << 30))  # noqa: S311 - not a secret
        self._transport: asyncio.DatagramTransport | None = None
        self._protocol: _ClientProtocol | None = None

    async def _udp(self) -> tuple[asyncio.DatagramTransport, _ClientProtocol]:
        if self._transport is None or self._protocol is None:
            loop = asyncio.get_running_loop()
            transport, protocol = await loop.create_datagram_endpoint(
                _ClientProtocol,
                local_addr=("0.0.0.0", 0),  # noqa: S104 - an ephemeral client port
            )
            self._transport, self._protocol = transport, protocol
        return self._transport, self._protocol

    def next_id(self) -> int:
        return next(self._ids) & 0x7FFFFFFF

    def _message(self, opcode: OpCode, body: m.Body, flags: int) -> m.Message:
        return m.Message(
            opcode=opcode,
            rc=ResponseCode.RESERVED,
            body=body,
            request_id=self.next_id(),
            flags=flags,
        )

    async def resolve(
        self,
        target: Target,
        handle: str,
        *,
        indexes: tuple[int, ...] = (),
        types: tuple[str, ...] = (),
        flags: int = 0,
    ) -> m.Message:
        body = m.ResolutionRequest(handle.encode(), indexes, tuple(t.encode() for t in types))
        return await self.send(target, self._message(OpCode.RESOLUTION, body, flags))

    async def site_info(self, target: Target) -> m.Message:
        return await self.send(target, self._message(OpCode.GET_SITE_INFO, m.GenericRequest(), 0))

    async def send(self, target: Target, request: m.Message) -> m.Message:
        data = m.encode(request)
        raw = await (
            self._tcp_exchange(target, data)
            if target.tcp
            else self._udp_exchange(target, request.request_id, data)
        )
        if raw[2] & EnvelopeFlag.TRUNCATED:
            raw = await self._tcp_exchange(target, data)
        reply = m.decode(raw)
        if reply.request_id != request.request_id:
            raise WireError(
                f"{target} answered request {reply.request_id}, not {request.request_id}"
            )
        return reply

    async def _udp_exchange(self, target: Target, request_id: int, data: bytes) -> bytes:
        transport, protocol = await self._udp()
        loop = asyncio.get_running_loop()
        for _ in range(self.tries):
            future: asyncio.Future[bytes] = loop.create_future()
            protocol.pending[request_id] = future
            transport.sendto(data, (target.host, target.port))
            try:
                return await asyncio.wait_for(future, self.timeout)
            except TimeoutError:
                continue
            finally:
                protocol.pending.pop(request_id, None)
        raise HandleError(
            ResponseCode.SERVER_NOT_RESP,
            f"no answer from {target} after {self.tries} tries of {self.timeout:g} s",
        )

    async def _tcp_exchange(self, target: Target, data: bytes) -> bytes:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(target.host, target.port), self.timeout
            )
        except (OSError, TimeoutError) as exc:
            raise HandleError(
                ResponseCode.SERVER_NOT_RESP, f"cannot connect to {target}: {exc}"
            ) from None
        try:
            writer.write(data)
            await writer.drain()
            envelope = await asyncio.wait_for(reader.readexactly(m.ENVELOPE_SIZE), self.timeout)
            rest = await asyncio.wait_for(
                reader.readexactly(m.message_length(envelope)), self.timeout
            )
            return envelope + rest
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            raise HandleError(
                ResponseCode.SERVER_NOT_RESP, f"{target} failed mid-answer: {exc!r}"
            ) from None
        finally:
            writer.close()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
