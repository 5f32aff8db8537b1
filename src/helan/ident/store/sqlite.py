"""SQLite ``WITHOUT ROWID``: the record table is its own primary-key B-tree."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from itertools import islice
from pathlib import Path

from helan.ident.store.base import public_only

_BATCH = 100_000


def _upper_bound(prefix: bytes) -> bytes:
    return prefix + b"\xff" * 8  # keys are UTF-8, which never contains 0xff


class SqliteStore:
    blocking = False

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA mmap_size=30000000000")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS handles (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID"
        )

    def get(self, key: bytes) -> bytes | None:
        row = self._db.execute("SELECT v FROM handles WHERE k = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def get_public(self, key: bytes) -> bytes | None:
        return public_only(self.get(key))

    def put(self, key: bytes, record: bytes) -> None:
        self._db.execute("INSERT OR REPLACE INTO handles VALUES (?, ?)", (key, record))

    def create(self, key: bytes, record: bytes) -> bool:
        cur = self._db.execute("INSERT OR IGNORE INTO handles VALUES (?, ?)", (key, record))
        return cur.rowcount == 1

    def delete(self, key: bytes) -> bool:
        return self._db.execute("DELETE FROM handles WHERE k = ?", (key,)).rowcount == 1

    def put_many(self, items: Iterable[tuple[bytes, bytes]], *, public: bool = False) -> int:
        total = 0
        it = iter(items)
        while batch := list(islice(it, _BATCH)):
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO handles VALUES (?, ?)", batch)
            self._db.execute("COMMIT")
            total += len(batch)
        return total

    def create_many(self, items: Sequence[tuple[bytes, bytes]]) -> list[bool]:
        insert = "INSERT OR IGNORE INTO handles VALUES (?, ?)"
        self._db.execute("BEGIN")
        try:
            done = [self._db.execute(insert, item).rowcount == 1 for item in items]
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return done

    def scan(self, key_prefix: bytes, offset: int, limit: int) -> list[bytes]:
        rows = self._db.execute(
            "SELECT k FROM handles WHERE k >= ? AND k < ? ORDER BY k LIMIT ? OFFSET ?",
            (key_prefix, _upper_bound(key_prefix), limit, offset),
        )
        return [bytes(r[0]) for r in rows]

    def count(self, key_prefix: bytes) -> int:
        row = self._db.execute(
            "SELECT count(*) FROM handles WHERE k >= ? AND k < ?",
            (key_prefix, _upper_bound(key_prefix)),
        ).fetchone()
        return int(row[0])

    def disk_bytes(self) -> int:
        return sum(
            p.stat().st_size for p in self._path.parent.glob(self._path.name + "*") if p.is_file()
        )

    def close(self) -> None:
        self._db.close()
