"""UDP and TCP listeners. A responder turns one request into one reply; sockets do nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import cast

from helan.ident.codes import EnvelopeFlag, ResponseCode
from helan.ident.errors import WireError
from helan.ident.node import error_reply
from helan.ident.wire import messages as m

log = logging.getLogger(__name__)

SyncResponder = Callable[[bytes], bytes]
AsyncResponder = Callable[[bytes], Awaitable[bytes]]
MAX_UDP_REQUEST = 8192
TCP_IDLE_S = 30.0


def truncated(reply: bytes) -> bytes:
    """The envelope and header of ``reply`` with TC set and no body: "ask again over TCP"."""
    head = bytearray(reply[: m.ENVELOPE_SIZE + m.HEADER_SIZE])
    head[2] |= EnvelopeFlag.TRUNCATED
    head[16:20] = m.HEADER_SIZE.to_bytes(4, "big")
    head[40:44] = bytes(4)
    return bytes(head)


@dataclass
class Counters:
    requests: int = 0
    malformed: int = 0
    oversize: int = 0
    truncated: int = 0


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(
        self,
        sync: SyncResponder | None,
        aio: AsyncResponder | None,
        reply_limit: int,
        counters: Counters,
    ) -> None:
        self.sync, self.aio, self.reply_limit, self.counters = sync, aio, reply_limit, counters
        self.transport: asyncio.DatagramTransport | None = None
        self.sendto: Callable[[bytes, tuple[str | object, int]], None] = lambda *_: None
        self.tasks: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)
        self.sendto = self.transport.sendto

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        # The per-datagram path of a node under load: kept to the minimum of Python work.
        self.counters.requests += 1
        if len(data) > MAX_UDP_REQUEST:
            self.counters.oversize += 1
            self._send(
                error_reply(
                    data,
                    ResponseCode.PROTOCOL_ERROR,
                    f"datagram of {len(data)} bytes exceeds {MAX_UDP_REQUEST}",
                ),
                addr,
            )
        elif self.sync is not None:
            reply = self.sync(data)
            if len(reply) <= self.reply_limit:
                self.sendto(reply, addr)
            else:
                self._send(reply, addr)
        else:
            assert self.aio is not None
            task = asyncio.get_running_loop().create_task(self._answer(data, addr))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _answer(self, data: bytes, addr: tuple[str | object, int]) -> None:
        assert self.aio is not None
        self._send(await self.aio(data), addr)

    def _send(self, reply: bytes, addr: tuple[str | object, int]) -> None:
        if len(reply) > self.reply_limit:
            self.counters.truncated += 1
            reply = truncated(reply)
        self.sendto(reply, addr)


@dataclass
class Listener:
    """One UDP and one TCP socket on the same port, sharing a responder."""

    host: str
    port: int
    sync: SyncResponder | None = None
    aio: AsyncResponder | None = None
    udp_reply_limit: int = 1472
    counters: Counters = field(default_factory=Counters)
    _udp: asyncio.DatagramTransport | None = None
    _udp_protocol: _UdpProtocol | None = None
    _tcp: asyncio.Server | None = None
    _conns: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tcp = await asyncio.start_server(self._serve_tcp, self.host, self.port)
        if self.port == 0:
            self.port = int(self._tcp.sockets[0].getsockname()[1])
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: _UdpProtocol(self.sync, self.aio, self.udp_reply_limit, self.counters),
            local_addr=(self.host, self.port),
        )
        self._udp, self._udp_protocol = transport, protocol

    async def _reply(self, data: bytes) -> bytes:
        if self.sync is not None:
            return self.sync(data)
        assert self.aio is not None
        return await self.aio(data)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        try:
            while True:
                try:
                    envelope = await asyncio.wait_for(
                        reader.readexactly(m.ENVELOPE_SIZE), TCP_IDLE_S
                    )
                except (asyncio.IncompleteReadError, TimeoutError):
                    return
                try:
                    length = m.message_length(envelope)
                except WireError as exc:
                    self.counters.malformed += 1
                    writer.write(error_reply(envelope, exc.rc, exc.message))
                    await writer.drain()
                    return  # framing is lost: the stream cannot be trusted any more
                try:
                    rest = await asyncio.wait_for(reader.readexactly(length), TCP_IDLE_S)
                except (asyncio.IncompleteReadError, TimeoutError):
                    return
                self.counters.requests += 1
                writer.write(await self._reply(envelope + rest))
                await writer.drain()
        except ConnectionError:
            return
        finally:
            self._conns.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._udp_protocol is not None:
            for task in list(self._udp_protocol.tasks):
                task.cancel()
        if self._tcp is not None:
            self._tcp.close()
            for task in list(self._conns):
                task.cancel()
            await asyncio.gather(*self._conns, return_exceptions=True)
            await self._tcp.wait_closed()
