"""PostgreSQL: for nodes that share one database between several server processes."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from itertools import islice

import psycopg

from helan.ident.store.base import public_only

_BATCH = 100_000


def _upper_bound(prefix: bytes) -> bytes:
    return prefix + b"\xff" * 8


class PostgresStore:
    blocking = True

    def __init__(self, url: str) -> None:
        self._db = psycopg.connect(url, autocommit=True)
        self._lock = threading.Lock()  # one connection, used from worker threads one at a time
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS ident_handles (k bytea PRIMARY KEY, v bytea NOT NULL)"
        )

    def get(self, key: bytes) -> bytes | None:
        with self._lock:
            row = self._db.execute("SELECT v FROM ident_handles WHERE k = %s", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def get_public(self, key: bytes) -> bytes | None:
        return public_only(self.get(key))

    def put(self, key: bytes, record: bytes) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO ident_handles VALUES (%s, %s) "
                "ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v",
                (key, record),
            )

    def create(self, key: bytes, record: bytes) -> bool:
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO ident_handles VALUES (%s, %s) ON CONFLICT DO NOTHING", (key, record)
            )
        return cur.rowcount == 1

    def delete(self, key: bytes) -> bool:
        with self._lock:
            return self._db.execute("DELETE FROM ident_handles WHERE k = %s", (key,)).rowcount == 1

    def put_many(self, items: Iterable[tuple[bytes, bytes]], *, public: bool = False) -> int:
        total = 0
        it = iter(items)
        with self._lock:
            while batch := list(islice(it, _BATCH)):
                with self._db.transaction():
                    self._db.execute(
                        "CREATE TEMP TABLE IF NOT EXISTS ident_load (k bytea, v bytea) "
                        "ON COMMIT DELETE ROWS"
                    )
                    with self._db.cursor().copy(
                        "COPY ident_load (k, v) FROM STDIN (FORMAT BINARY)"
                    ) as copy:
                        copy.set_types(["bytea", "bytea"])
                        for row in batch:
                            copy.write_row(row)
                    self._db.execute(
                        "INSERT INTO ident_handles SELECT DISTINCT ON (k) k, v FROM ident_load "
                        "ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v"
                    )
                total += len(batch)
        return total

    def create_many(self, items: Sequence[tuple[bytes, bytes]]) -> list[bool]:
        if not items:
            return []
        with self._lock, self._db.transaction():
            self._db.execute(
                "CREATE TEMP TABLE IF NOT EXISTS ident_new (n int, k bytea, v bytea) "
                "ON COMMIT DELETE ROWS"
            )
            with self._db.cursor().copy(
                "COPY ident_new (n, k, v) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(["int4", "bytea", "bytea"])
                for n, (key, record) in enumerate(items):
                    copy.write_row((n, key, record))
            rows = self._db.execute(
                "INSERT INTO ident_handles SELECT DISTINCT ON (k) k, v FROM ident_new "
                "ORDER BY k, n ON CONFLICT DO NOTHING RETURNING k"
            ).fetchall()
        created = {bytes(r[0]) for r in rows}
        done = []
        for key, _ in items:
            done.append(key in created)
            created.discard(key)  # a later duplicate of the key was not inserted
        return done

    def scan(self, key_prefix: bytes, offset: int, limit: int) -> list[bytes]:
        with self._lock:
            rows = self._db.execute(
                "SELECT k FROM ident_handles WHERE k >= %s AND k < %s "
                "ORDER BY k LIMIT %s OFFSET %s",
                (key_prefix, _upper_bound(key_prefix), limit, offset),
            ).fetchall()
        return [bytes(r[0]) for r in rows]

    def count(self, key_prefix: bytes) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT count(*) FROM ident_handles WHERE k >= %s AND k < %s",
                (key_prefix, _upper_bound(key_prefix)),
            ).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        self._db.close()
