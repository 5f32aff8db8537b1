"""The storage contract: opaque records (see ``wire.records.encode_record``) under handle keys."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from helan.ident.wire.records import all_public


def public_only(record: bytes | None) -> bytes | None:
    """``record`` if all its values are public; a damaged record counts as not public (the
    general path then reports it)."""
    try:
        return record if record is not None and all_public(record) else None
    except IndexError:
        return None


class HandleStore(Protocol):
    #: True when calls block on the network (PostgreSQL): servers run them in a thread.
    blocking: bool

    def get(self, key: bytes) -> bytes | None: ...

    def get_public(self, key: bytes) -> bytes | None:
        """The record if every value in it is publicly readable, else None (also when absent):
        what a node may send without looking at permissions (``wire.records.all_public``)."""

    def put(self, key: bytes, record: bytes) -> None:
        """Insert or replace."""

    def create(self, key: bytes, record: bytes) -> bool:
        """Insert only if absent; False when the key exists (atomically)."""

    def delete(self, key: bytes) -> bool: ...

    def put_many(self, items: Iterable[tuple[bytes, bytes]], *, public: bool = False) -> int:
        """Bulk insert-or-replace, committed in large transactions; returns the count.
        ``public``: the caller, which encoded the records from their values, vouches that every
        value of every record is public-read, so the store need not read that back out of them
        (see ``get_public``)."""

    def create_many(self, items: Sequence[tuple[bytes, bytes]]) -> list[bool]:
        """Insert the absent keys in one transaction; per item, True when it was inserted (of a
        key given twice, the first wins)."""

    def scan(self, key_prefix: bytes, offset: int, limit: int) -> list[bytes]:
        """Keys starting with ``key_prefix`` in key order, paged."""

    def count(self, key_prefix: bytes) -> int: ...

    def close(self) -> None: ...
