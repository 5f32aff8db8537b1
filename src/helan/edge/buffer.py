"""Store-and-forward: every sample set is written here before anything is sent upstream, and
leaves only after the broker acknowledged it.

SQLite in WAL mode: a committed row survives a SIGKILL of the gateway (``synchronous=NORMAL``
writes the WAL at commit and defers only the fsync, which matters for power loss; choose
``sync="full"`` for that). One row is one sample set (a device at one instant), so 20,000
points/s are a few hundred rows/s. Bounded by bytes and age; when full the oldest rows go
first and are counted (``dropped_full``, ``dropped_age``), so an alarm can be raised on them.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import orjson

from helan.edge.readings import SampleSet, now_ms

log = logging.getLogger(__name__)

ROW_OVERHEAD = 40  # bytes SQLite spends per row besides the body (id, ts, size, cell header)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts INTEGER NOT NULL,
    size INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS samples_ts ON samples(ts);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS commands_seen (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
"""


class BufferUnavailable(Exception):
    """The buffer cannot take more data (disk full, file unwritable)."""


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    sample: SampleSet


def encode_sample(s: SampleSet) -> bytes:
    body: dict[str, object] = {"d": s.device, "t": s.ts, "v": s.values}
    if s.bad:
        body["b"] = s.bad
    return bytes(orjson.dumps(body))


def decode_sample(body: bytes) -> SampleSet:
    raw = orjson.loads(body)
    return SampleSet(device=raw["d"], ts=raw["t"], values=raw["v"], bad=raw.get("b", {}))


class Buffer:
    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int,
        max_age_s: float,
        sync: Literal["normal", "full"] = "normal",
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_bytes = max_bytes
        self.max_age_ms = int(max_age_s * 1000)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={sync.upper()}")
        self._db.executescript(_SCHEMA)
        row = self._db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM samples").fetchone()
        self.rows, self.bytes = int(row[0]), int(row[1])
        self.counters = {"appended": 0, "dropped_full": 0, "dropped_age": 0, "sent": 0}
        for name, value in self._db.execute("SELECT name, value FROM counters"):
            self.counters[name] = int(value)

    def append(self, samples: Sequence[SampleSet]) -> None:
        """Store in one transaction; raises :class:`BufferUnavailable` when the disk refuses."""
        if not samples:
            return
        rows = []
        total = 0
        for s in samples:
            body = encode_sample(s)
            size = len(body) + ROW_OVERHEAD
            total += size
            rows.append((s.ts, size, body))
        try:
            with self._transaction():
                self._db.executemany("INSERT INTO samples(ts, size, body) VALUES (?, ?, ?)", rows)
                self._bump("appended", len(rows))
        except sqlite3.OperationalError as exc:
            raise BufferUnavailable(f"buffer {self.path}: {exc}") from exc
        self.rows += len(rows)
        self.bytes += total
        if self.bytes > self.max_bytes:
            self._drop_oldest()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """The connection is in autocommit mode; this groups statements into one commit."""
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def next_value(self, name: str) -> int:
        """Next number of a persistent sequence (0, 1, ...): Sparkplug's bdSeq survives restarts."""
        self.counters.setdefault(name, 0)
        with self._transaction():
            self._bump(name, 1)
        return self.counters[name] - 1

    def _bump(self, name: str, by: int) -> None:
        self.counters[name] = self.counters.get(name, 0) + by
        self._db.execute(
            "INSERT INTO counters(name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
            (name, by),
        )

    def _drop_oldest(self) -> None:
        excess = self.bytes - self.max_bytes
        freed = dropped = 0
        cutoff = 0
        for row_id, size in self._db.execute("SELECT id, size FROM samples ORDER BY id"):
            cutoff, freed, dropped = row_id, freed + size, dropped + 1
            if freed >= excess:
                break
        with self._transaction():
            self._db.execute("DELETE FROM samples WHERE id <= ?", (cutoff,))
            self._bump("dropped_full", dropped)
        self.rows -= dropped
        self.bytes -= freed
        log.warning("edge buffer full: dropped the %d oldest sample sets", dropped)

    def expire(self, now: int | None = None) -> int:
        """Drop rows older than the age bound; returns how many."""
        limit = (now if now is not None else now_ms()) - self.max_age_ms
        row = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM samples WHERE ts < ?", (limit,)
        ).fetchone()
        count, size = int(row[0]), int(row[1])
        if count:
            with self._transaction():
                self._db.execute("DELETE FROM samples WHERE ts < ?", (limit,))
                self._bump("dropped_age", count)
            self.rows -= count
            self.bytes -= size
            log.warning("edge buffer: dropped %d sample sets older than the age bound", count)
        return count

    def last_id(self) -> int:
        row = self._db.execute("SELECT COALESCE(MAX(id), 0) FROM samples").fetchone()
        return int(row[0])

    def take(self, *, after: int, upto: int | None = None, limit: int) -> list[Row]:
        """Rows with ``after < id <= upto`` in id order (oldest first)."""
        high = upto if upto is not None else 2**62
        cur = self._db.execute(
            "SELECT id, body FROM samples WHERE id > ? AND id <= ? ORDER BY id LIMIT ?",
            (after, high, limit),
        )
        return [Row(int(i), decode_sample(b)) for i, b in cur]

    def delete(self, ids: Sequence[int]) -> None:
        """Forget rows upstream acknowledged (rows already dropped are ignored)."""
        if not ids:
            return
        with self._transaction():
            cur = self._db.execute(
                f"DELETE FROM samples WHERE id IN ({','.join('?' * len(ids))}) RETURNING size",  # noqa: S608 - only placeholders
                list(ids),
            )
            sizes = [int(r[0]) for r in cur.fetchall()]
            self._bump("sent", len(sizes))
        self.rows -= len(sizes)
        self.bytes -= sum(sizes)

    def first_sight(self, command_id: str, expires_at: int) -> bool:
        """Remember a command id until it expires; False when it was seen before (a replay).
        Kept in this file so that a restart does not reopen the replay window."""
        try:
            with self._transaction():
                self._db.execute(
                    "INSERT INTO commands_seen(id, expires_at) VALUES (?, ?)",
                    (command_id, expires_at),
                )
        except sqlite3.IntegrityError:
            return False
        return True

    def forget_expired_commands(self, now: int | None = None) -> None:
        limit = now if now is not None else now_ms()
        with self._transaction():
            self._db.execute("DELETE FROM commands_seen WHERE expires_at < ?", (limit,))

    def stats(self) -> dict[str, int]:
        return {"rows": self.rows, "bytes": self.bytes, **self.counters}

    def close(self) -> None:
        self._db.close()
