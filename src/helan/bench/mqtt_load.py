"""A fast QoS 1 load generator for the MQTT benchmarks: raw MQTT 3.1.1 packets over asyncio
streams, payloads assembled from pre-encoded pieces, run in its own process so that the
publisher does not share the measured process's interpreter.

Flow control is closed-loop: it keeps at most ``window`` messages published but not yet
consumed (``consumed`` is a shared counter the measured side advances), so the broker's queue
for the consumer never overflows (Mosquitto drops beyond max_queued_messages) and the figure
is the consumer's sustained rate, not a burst.
"""

from __future__ import annotations

import asyncio
import struct
import time
import uuid
from multiprocessing.sharedctypes import Synchronized

METRICS = [f"m{i}" for i in range(10)]
BURST = 200  # messages assembled between two looks at the consumer's progress


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("!H", len(raw)) + raw


def _connect_packet(client_id: str, credential: tuple[str, str] | None = None) -> bytes:
    """CONNECT, clean session, keep-alive off; with a username and password if given (the
    embedded broker authenticates every connection)."""
    flags = 0x02 | (0xC0 if credential else 0)
    body = b"\x00\x04MQTT\x04" + bytes([flags]) + b"\x00\x00" + _string(client_id)
    if credential:
        body += _string(credential[0]) + _string(credential[1])
    return b"\x10" + _varint(len(body)) + body


def _values() -> bytes:
    return (
        b',"values":{'
        + b",".join(f'"{m}":{20 + i * 0.5}'.encode() for i, m in enumerate(METRICS))
        + b"}}"
    )


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.acked = 0
        self.sent = 0
        self.mid = 0
        self.done = asyncio.Event()

    async def read_acks(self) -> None:
        """Count PUBACKs (MQTT 3.1.1: exactly 4 bytes each, the only packets the broker sends
        this connection) a socket read at a time, not one await per packet."""
        rest = 0
        while True:
            data = await self.reader.read(65536)
            if not data:
                return
            rest += len(data)
            self.acked += rest // 4
            rest %= 4
            if self.acked == self.sent and self.done_sending:
                self.done.set()

    done_sending = False


async def _publish(
    host: str, port: int, tenant: str, devices: int, seconds: float, connections: int,
    window: int, consumed: Synchronized[int], published: Synchronized[int], t0_ms: int,
    credential: tuple[str, str] | None,
) -> None:  # fmt: skip
    conns = []
    for _ in range(connections):
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(_connect_packet(f"load-{uuid.uuid4().hex[:10]}", credential))
        await writer.drain()
        connack = await reader.readexactly(4)
        if connack[3] != 0:
            raise RuntimeError(f"broker refused the load connection: {connack!r}")
        conn = _Connection(reader, writer)
        conn.task = asyncio.create_task(conn.read_acks())  # type: ignore[attr-defined]
        conns.append(conn)
    topics = [f"helan/v1/{tenant}/dev-{d}/telemetry".encode() for d in range(devices)]
    heads = [struct.pack("!H", len(t)) + t for t in topics]
    tail = _values()
    sent = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if sent - consumed.value >= window:
            await asyncio.sleep(0.001)
            continue
        packets: list[list[bytes]] = [[] for _ in conns]
        for _ in range(min(BURST, window - (sent - consumed.value))):
            d = sent % devices
            k = sent % connections
            conn = conns[k]
            conn.mid = conn.mid % 65535 + 1
            payload = b'{"ts":' + str(t0_ms + sent // devices).encode() + tail
            body = heads[d] + struct.pack("!H", conn.mid) + payload
            packets[k].append(b"\x32" + _varint(len(body)) + body)
            conn.sent += 1
            sent += 1
        for conn, chunk in zip(conns, packets, strict=True):
            conn.writer.write(b"".join(chunk))  # one send per connection and burst
        await asyncio.gather(*(c.writer.drain() for c in conns))
    for c in conns:
        c.done_sending = True
        if c.acked == c.sent:
            c.done.set()
    await asyncio.gather(*(c.done.wait() for c in conns))
    published.value = sent
    for c in conns:
        c.task.cancel()  # type: ignore[attr-defined]
        c.writer.write(b"\xe0\x00")
        c.writer.close()


def publish_load(
    host: str, port: int, tenant: str, devices: int, seconds: float, connections: int,
    window: int, consumed: Synchronized[int], published: Synchronized[int], t0_ms: int,
    credential: tuple[str, str] | None = None,
) -> None:  # fmt: skip
    """Process entry point: publish until ``seconds`` pass; ``published`` = broker-acked."""
    import uvloop

    uvloop.run(
        _publish(
            host,
            port,
            tenant,
            devices,
            seconds,
            connections,
            window,
            consumed,
            published,
            t0_ms,
            credential,
        )
    )
