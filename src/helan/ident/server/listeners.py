"""UDP and TCP listeners. A responder turns one request into one reply; sockets do nothing else.

A synchronous responder (a node over a local store) gets its UDP socket served by a thread of
its own doing blocking ``recvfrom``/``sendto``: per datagram two system calls and the responder,
without an event loop's callback machinery, which measured ~3 µs less CPU per answer than
uvloop's datagram protocol (20.5–21.2 → 17.2–18.1 µs, ident-udp on 10 M records) — a sixth of
the whole cost. The GIL serialises it with the event loop's work as before. An asynchronous
responder (the resolver) is served on the event loop.

Each reply sent is counted by its own header's operation and response code
(:mod:`helan.ident.server.metrics`); the UDP thread pays a dict increment for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import cast

from helan.ident.codes import EnvelopeFlag, ResponseCode
from helan.ident.errors import WireError
from helan.ident.node import error_reply
from helan.ident.server.metrics import Metrics
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


def _oversize(data: bytes) -> bytes:
    return error_reply(
        data,
        ResponseCode.PROTOCOL_ERROR,
        f"datagram of {len(data)} bytes exceeds {MAX_UDP_REQUEST}",
    )


class _UdpThread:
    """A blocking UDP socket served by one thread (see the module doc)."""

    def __init__(self, sock: socket.socket, respond: SyncResponder, reply_limit: int) -> None:
        self.sock = sock
        self.respond = respond
        self.reply_limit = reply_limit
        self.metrics = Metrics("udp")
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="handle-udp", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        recv, send, respond = self.sock.recvfrom, self.sock.sendto, self.respond
        metrics, limit = self.metrics, self.reply_limit
        while True:
            try:
                data, addr = recv(MAX_UDP_REQUEST + 1)  # one byte more: oversize shows
            except OSError as exc:
                if self._stopping:
                    return
                log.warning("handle udp: receive failed: %s", exc)
                continue
            if self._stopping:
                return
            try:
                reply = _oversize(data) if len(data) > MAX_UDP_REQUEST else respond(data)
                if len(reply) > limit:
                    metrics.truncated.inc()
                    reply = truncated(reply)
                send(reply, addr)
                metrics.answered(reply)
            except Exception:  # a responder bug or an unsendable reply: never end the service
                metrics.failures.inc()
                log.exception("handle udp: no reply to %s", addr)

    def stop(self) -> None:
        """Wake the blocked ``recvfrom`` with an empty datagram, wait for the thread, close."""
        self._stopping = True
        host, port = self.sock.getsockname()[:2]
        if host in ("0.0.0.0", "::"):  # noqa: S104 - a bound wildcard, reached on loopback
            host = "::1" if self.sock.family == socket.AF_INET6 else "127.0.0.1"
        with contextlib.suppress(OSError), socket.socket(self.sock.family, socket.SOCK_DGRAM) as s:
            s.sendto(b"", (host, port))
        self._thread.join(5)
        self.sock.close()


class _UdpProtocol(asyncio.DatagramProtocol):
    """UDP on the event loop, for an asynchronous responder."""

    def __init__(self, aio: AsyncResponder, reply_limit: int) -> None:
        self.aio, self.reply_limit, self.metrics = aio, reply_limit, Metrics("udp")
        self.transport: asyncio.DatagramTransport | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        if len(data) > MAX_UDP_REQUEST:
            self._send(_oversize(data), addr)
            return
        task = asyncio.get_running_loop().create_task(self._answer(data, addr))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _answer(self, data: bytes, addr: tuple[str | object, int]) -> None:
        try:
            reply = await self.aio(data)
        except Exception:  # a responder bug: this request gets no reply, the others do
            self.metrics.failures.inc()
            log.exception("handle udp: no reply to %s", addr)
            return
        self._send(reply, addr)

    def _send(self, reply: bytes, addr: tuple[str | object, int]) -> None:
        if len(reply) > self.reply_limit:
            self.metrics.truncated.inc()
            reply = truncated(reply)
        if self.transport is not None:
            self.transport.sendto(reply, addr)
            self.metrics.answered(reply)


@dataclass
class Listener:
    """One UDP and one TCP socket on the same port, sharing a responder."""

    host: str
    port: int
    sync: SyncResponder | None = None
    aio: AsyncResponder | None = None
    udp_reply_limit: int = 1472
    _tcp_metrics: Metrics = field(default_factory=lambda: Metrics("tcp"))
    _udp: asyncio.DatagramTransport | None = None
    _udp_protocol: _UdpProtocol | None = None
    _udp_thread: _UdpThread | None = None
    _tcp: asyncio.Server | None = None
    _conns: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tcp = await asyncio.start_server(self._serve_tcp, self.host, self.port)
        if self.port == 0:
            self.port = int(self._tcp.sockets[0].getsockname()[1])
        if self.sync is not None:
            family = self._tcp.sockets[0].family
            sock = socket.socket(family, socket.SOCK_DGRAM)
            try:
                sock.bind((self.host, self.port))
            except OSError:
                sock.close()
                await self.stop()
                raise
            self._udp_thread = _UdpThread(sock, self.sync, self.udp_reply_limit)
            self._udp_thread.start()
            return
        assert self.aio is not None
        aio = self.aio
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: _UdpProtocol(aio, self.udp_reply_limit),
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
                    reply = error_reply(envelope, exc.rc, exc.message)
                    writer.write(reply)
                    await writer.drain()
                    self._tcp_metrics.answered(reply)
                    return  # framing is lost: the stream cannot be trusted any more
                try:
                    rest = await asyncio.wait_for(reader.readexactly(length), TCP_IDLE_S)
                except (asyncio.IncompleteReadError, TimeoutError):
                    return
                try:
                    reply = await self._reply(envelope + rest)
                except Exception:  # a responder bug: end this connection, not the listener
                    self._tcp_metrics.failures.inc()
                    log.exception("handle tcp: no reply")
                    return
                writer.write(reply)
                await writer.drain()
                self._tcp_metrics.answered(reply)
        except ConnectionError:
            return
        finally:
            self._conns.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def stop(self) -> None:
        if self._udp_thread is not None:
            await asyncio.to_thread(self._udp_thread.stop)
            self._udp_thread = None
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
