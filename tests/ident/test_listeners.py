"""The UDP/TCP listener itself: a synchronous responder's UDP thread survives a failing
responder, truncates long replies, refuses oversize datagrams, and stops promptly."""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter

from prometheus_client import REGISTRY
from tests.conftest import eventually

from helan.ident.codes import EnvelopeFlag
from helan.ident.server.listeners import MAX_UDP_REQUEST, Listener
from helan.ident.wire import messages as m


def _ask(port: int, data: bytes) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        s.sendto(data, ("127.0.0.1", port))
        return s.recv(65536)


def _udp_counts() -> Counter[tuple[str, str, str]]:
    """helan_handle_* samples of the UDP transport: (metric, opcode, response code) -> count."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for family in REGISTRY.collect():
        for s in family.samples:
            name, labels = s.name, s.labels
            if (
                name.startswith("helan_handle_")
                and name.endswith("_total")
                and labels.get("transport") == "udp"
            ):
                kind = name.removeprefix("helan_handle_").removesuffix("_total")
                key = (kind, labels.get("opcode", ""), labels.get("response_code", ""))
                counts[key] += int(s.value)
    return counts


def _request(request_id: int) -> bytes:
    body = m.ResolutionRequest(b"88.1/x")
    return m.encode(m.Message(opcode=1, rc=0, body=body, request_id=request_id))


async def test_the_udp_thread_outlives_a_failing_responder() -> None:
    def respond(data: bytes) -> bytes:
        if m.peek_ids(data) == (2, 1):
            raise RuntimeError("a responder bug")
        if m.peek_ids(data) == (3, 1):
            return data[:20] + bytes(3000)  # longer than a datagram may be
        return data

    listener = Listener("127.0.0.1", 0, sync=respond)
    await listener.start()
    before = _udp_counts()
    try:
        assert await asyncio.to_thread(_ask, listener.port, _request(1)) == _request(1)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # no reply to the bug...
            s.settimeout(0.5)
            s.sendto(_request(2), ("127.0.0.1", listener.port))
            try:
                s.recv(100)
                raise AssertionError("a failed request got a reply")
            except TimeoutError:
                pass
        assert await asyncio.to_thread(_ask, listener.port, _request(4)) == _request(4)  # ...alive
        long = await asyncio.to_thread(_ask, listener.port, _request(3))
        assert long[2] & EnvelopeFlag.TRUNCATED  # "ask again over TCP"
        assert len(long) == m.ENVELOPE_SIZE + m.HEADER_SIZE
        big = await asyncio.to_thread(_ask, listener.port, _request(5) + bytes(MAX_UDP_REQUEST))
        assert m.decode(big).rc == 4  # RC_PROTOCOL_ERROR
        expected = {
            ("requests", "RESOLUTION", "RESERVED"): 2,  # the echoes
            ("requests", "RESERVED", "RESERVED"): 1,  # the long reply, truncated
            ("requests", "RESOLUTION", "PROTOCOL_ERROR"): 1,  # the oversize datagram
            ("failures", "", ""): 1,
            ("truncated", "", ""): 1,
        }
        await eventually(lambda: _udp_counts() - before == expected, 2)  # counted once sent
    finally:
        started = time.monotonic()
        await listener.stop()
        assert time.monotonic() - started < 2  # the blocked receive was woken, not timed out
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", listener.port))  # the port is free again
