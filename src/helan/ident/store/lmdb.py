"""LMDB: memory-mapped B+tree; measured fastest to load and to read (docs/ident.md).

Beside the records, a small database ``private`` holds the keys of the records that have a
value the public may not read, kept in the same write transactions: a node answering over UDP
then learns "may I send this record as it is" from one lookup in a tiny, always-cached B-tree
instead of walking the record's values on every request (docs/ident.md, "Answer cache").
A store made before that database existed is indexed once when it is opened.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from itertools import islice, pairwise
from pathlib import Path

import lmdb

from helan.ident.wire.records import all_public

log = logging.getLogger(__name__)

_BATCH = 100_000
_INDEXED = b"\x00indexed"  # in ``private``: the index covers every record (no handle has NUL)


def _private(key: bytes, record: bytes) -> bool:
    """Whether ``private`` lists ``key``: a record with a value the public may not read. Keys
    starting with NUL are the store's users' own entries (indexes, templates), never handles,
    never answered: they are not records and are left out."""
    if key[:1] == b"\x00":
        return False
    try:
        return not all_public(record)
    except IndexError:  # damaged: never sent as it is
        return True


class LmdbStore:
    blocking = False

    def __init__(self, path: Path, *, map_size: int = 1 << 36, sync: bool = True) -> None:
        path.mkdir(parents=True, exist_ok=True)
        # map_size is address space, not memory: the file grows as records arrive.
        self._env = lmdb.open(
            str(path), map_size=map_size, max_dbs=2, sync=sync, readahead=False, lock=True
        )
        self._db = self._env.open_db(b"handles")
        self._private = self._env.open_db(b"private")
        self._index_private()

    def _index_private(self) -> None:
        with self._env.begin(write=True) as txn:
            if txn.get(_INDEXED, db=self._private) is not None:
                return
            found = 0
            for key, record in txn.cursor(db=self._db):
                if _private(key, record):
                    txn.put(key, b"", db=self._private)
                    found += 1
            txn.put(_INDEXED, b"", db=self._private)
        if found:
            log.info("indexed %d records with private values", found)

    def get(self, key: bytes) -> bytes | None:
        # The per-request read path: an explicit abort costs a third less than ``with``.
        txn = self._env.begin(db=self._db)
        try:
            value: bytes | None = txn.get(key)
        finally:
            txn.abort()
        return value

    def get_public(self, key: bytes) -> bytes | None:
        txn = self._env.begin(db=self._db)
        try:
            value: bytes | None = txn.get(key)
            if value is not None and txn.get(key, db=self._private) is not None:
                return None
        finally:
            txn.abort()
        return value

    def _mark(self, txn: lmdb.Transaction, key: bytes, record: bytes) -> None:
        if _private(key, record):
            txn.put(key, b"", db=self._private)
        else:
            txn.delete(key, db=self._private)

    def put(self, key: bytes, record: bytes) -> None:
        with self._env.begin(db=self._db, write=True) as txn:
            txn.put(key, record)
            self._mark(txn, key, record)

    def create(self, key: bytes, record: bytes) -> bool:
        with self._env.begin(db=self._db, write=True) as txn:
            created = bool(txn.put(key, record, overwrite=False))
            if created:
                self._mark(txn, key, record)
            return created

    def delete(self, key: bytes) -> bool:
        with self._env.begin(db=self._db, write=True) as txn:
            txn.delete(key, db=self._private)
            return bool(txn.delete(key))

    def put_many(self, items: Iterable[tuple[bytes, bytes]], *, public: bool = False) -> int:
        total = 0
        it = iter(items)
        while batch := list(islice(it, _BATCH)):
            with self._env.begin(db=self._db, write=True) as txn:
                cursor = txn.cursor()
                last = cursor.key() if cursor.last() else b""
                # Keys in ascending order after every stored key (a fresh sequential load) can
                # be appended: LMDB then fills pages without searching or splitting them.
                append = batch[0][0] > last and all(a[0] < b[0] for a, b in pairwise(batch))
                _, added = cursor.putmulti(batch, overwrite=True, append=append)
                total += added
                # Only the index's marker: no key to clear, mark only the private records.
                clear = txn.stat(self._private)["entries"] > 1
                for key, record in batch:
                    if not public and _private(key, record):
                        txn.put(key, b"", db=self._private)
                    elif clear:
                        txn.delete(key, db=self._private)
        return total

    def create_many(self, items: Sequence[tuple[bytes, bytes]]) -> list[bool]:
        with self._env.begin(db=self._db, write=True) as txn:
            out = []
            for key, record in items:
                created = bool(txn.put(key, record, overwrite=False))
                if created and _private(key, record):
                    txn.put(key, b"", db=self._private)
                out.append(created)
            return out

    def scan(self, key_prefix: bytes, offset: int, limit: int) -> list[bytes]:
        out: list[bytes] = []
        with self._env.begin(db=self._db) as txn:
            cursor = txn.cursor()
            if not cursor.set_range(key_prefix):
                return out
            keys = (k for k in cursor.iternext(keys=True, values=False))
            for key in keys:
                if not key.startswith(key_prefix):
                    break
                if offset:
                    offset -= 1
                    continue
                out.append(bytes(key))
                if len(out) >= limit:
                    break
        return out

    def count(self, key_prefix: bytes) -> int:
        n = 0
        with self._env.begin(db=self._db) as txn:
            cursor = txn.cursor()
            if cursor.set_range(key_prefix):
                for key in cursor.iternext(keys=True, values=False):
                    if not key.startswith(key_prefix):
                        break
                    n += 1
        return n

    def disk_bytes(self) -> int:
        return sum(p.stat().st_size for p in Path(self._env.path()).iterdir())

    def sync(self) -> None:
        """Force written pages to disk (for stores opened with ``sync=False`` for bulk loads)."""
        self._env.sync(True)

    def close(self) -> None:
        self._env.close()
