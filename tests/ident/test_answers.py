"""The node's answer cache: reused bytes, fresh envelopes, dropped on every write."""

from __future__ import annotations

from pathlib import Path

import pytest

from helan.ident.codes import ResponseCode
from helan.ident.model import Handle, HandleValue
from helan.ident.node import Node, Role
from helan.ident.registry import Identity, Registry
from helan.ident.store import open_store
from helan.ident.wire import messages as m
from helan.ident.wire.answers import AnswerCache, request_key
from helan.ident.wire.records import all_public, decode_values

ADMIN = Identity("0.NA/88.1", 300)


def _ask(node: Node, handle: bytes, request_id: int, types: tuple[bytes, ...] = ()) -> m.Message:
    body = m.ResolutionRequest(handle, (), types)
    data = m.encode(m.Message(opcode=1, rc=0, body=body, request_id=request_id, session_id=7))
    return m.decode(node.respond(data))


def test_cached_answers_follow_writes(tmp_path: Path) -> None:
    store = open_store(f"lmdb:{tmp_path / 'db'}")
    registry = Registry(store, homed=["88.1"])
    registry.bootstrap_prefix("88.1", b"s", None)
    node = Node(store, role=Role.ENTERPRISE, homed=["88.1"])
    registry.listeners.append(node.answers.invalidate)
    try:
        handle = Handle.parse("88.1/A")
        assert _ask(node, b"88.1/a", 1).rc == ResponseCode.HANDLE_NOT_FOUND
        assert _ask(node, b"88.1/A", 2).rc == ResponseCode.HANDLE_NOT_FOUND
        assert (node.answers.hits, len(node.answers)) == (1, 1)  # "not found" is cached
        registry.put_record(ADMIN, handle, [HandleValue(1, "URL", b"https://1")], overwrite=False)
        assert len(node.answers) == 0  # ... and dropped by the write
        first = _ask(node, b"88.1/A", 2)
        again = _ask(node, b"88.1/a", 3)
        assert (first.rc, again.request_id, again.session_id) == (ResponseCode.SUCCESS, 3, 7)
        assert again.body == first.body
        assert len(node.answers) == 0  # public records are answered from the store, not cached
        registry.put_record(ADMIN, handle, [HandleValue(1, "URL", b"https://2")], overwrite=True)
        (value,) = decode_values(_ask(node, b"88.1/A", 4).body.values)  # type: ignore[union-attr]
        assert value.data == b"https://2"
        for request_id in (5, 6):
            filtered = _ask(node, b"88.1/A", request_id, (b"EMAIL",))
            assert filtered.rc == ResponseCode.VALUES_NOT_FOUND
        assert (node.answers.hits, len(node.answers)) == (2, 1)
        node.answers.invalidate(b"0.NA/88.1")  # a prefix record write may change any answer
        assert len(node.answers) == 0
    finally:
        store.close()


def test_cache_bounds_and_plain_request_detection() -> None:
    cache = AnswerCache(max_entries=2, max_age=60)
    for i in range(3):
        cache.put((b"H%d" % i, b""), b"tail")
    assert len(cache) == 2
    assert cache.get((b"H0", b"")) is None
    assert cache.get((b"H2", b"")) == b"tail"
    expired = AnswerCache(max_age=-1)
    expired.put((b"H", b""), b"tail")
    assert expired.get((b"H", b"")) is None
    plain = m.encode(m.Message(opcode=1, rc=0, body=m.ResolutionRequest(b"88.1/x"), request_id=1))
    assert request_key(plain) == (b"88.1/X", bytes(12))
    assert request_key(plain[:-1]) is None
    assert request_key(plain[:20] + (2).to_bytes(4, "big") + plain[24:]) is None
    digest = bytearray(plain)
    digest[28:32] = (0x00800000).to_bytes(4, "big")
    assert request_key(bytes(digest)) is None


def test_store_keys_and_damaged_records_leave_the_fast_path(tmp_path: Path) -> None:
    """A NUL-led handle (the store's own keys: templates, platform index) is never a cached
    question and never read from the store; a damaged record is reported, not served."""
    nul = m.encode(
        m.Message(opcode=1, rc=0, body=m.ResolutionRequest(b"\x00template\x00X"), request_id=1)
    )
    assert request_key(nul) is None
    store = open_store(f"lmdb:{tmp_path / 'db'}")
    store.put(b"\x00TEMPLATE\x00X", b"\x00\x00\x00\x00\x00\x00\x00\x00")  # a parseable record
    store.put(b"88.1/BROKEN", b"\x00\x00\x00\x0b88.1/BROKEN\x00\x00\x00\x01\x00")
    node = Node(store, role=Role.ENTERPRISE, homed=["88.1"])
    reply = m.decode(node.respond(nul))
    assert reply.rc == ResponseCode.INVALID_HANDLE
    assert _ask(node, b"88.1/broken", 2).rc != ResponseCode.SUCCESS
    with pytest.raises(IndexError):
        all_public(b"\x00\x00\x00\x0b88.1/BROKEN\x00\x00\x00\x01\x00")


def test_eviction_is_fifo_over_many_entries() -> None:
    cache = AnswerCache(max_entries=1000, max_age=60)
    for i in range(5000):
        cache.put((b"H%d" % i, b""), b"%d" % i)
    assert len(cache) == 1000
    assert cache.get((b"H3999", b"")) is None
    assert [cache.get((b"H%d" % i, b"")) for i in (4000, 4999)] == [b"4000", b"4999"]
