"""The event store: one SQLite database of its own (``data_dir/trace/events.sqlite3``, WAL),
apart from the metadata database. Why SQLite and not DuckDB is in docs/trace.md: genealogy
is thousands of point lookups by identifier, which B-trees answer in microseconds and
DuckDB's ART index in milliseconds, and capture appends small batches, which DuckDB's index
maintenance makes slow.

``events``: one row per event (``seq`` its capture order), the fields the standard query
parameters filter on, the event's JSON as captured, its document's ``@context`` (kept once
in ``contexts``) and its identifiers as a compact list (``refs``: role, key, quantity, uom,
class flag), which genealogy reads to step from an event to its neighbours.
``refs``: the identifier index (tenant, key) → events, clustered on that key
(``WITHOUT ROWID``), so that "which events name X" is one B-tree range.

Capture is one transaction per document: all of it or none. An event whose ``eventID`` the
tenant already has is skipped (capture is idempotent), except an error declaration for a
stored event, which marks the stored one (EPCIS 2.0 §7.4.1.2: the declaration repeats the
event with ``errorDeclaration`` added) and replaces its JSON with the declaring one."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from helan.trace.epcis.model import Event

SCHEMA = """
CREATE TABLE IF NOT EXISTS contexts (
  id INTEGER PRIMARY KEY, body BLOB NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  tenant TEXT NOT NULL,
  event_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  event_time INTEGER NOT NULL,
  record_time INTEGER NOT NULL,
  action TEXT,
  biz_step TEXT,
  disposition TEXT,
  read_point TEXT,
  biz_location TEXT,
  declared_error INTEGER NOT NULL DEFAULT 0,
  context_id INTEGER NOT NULL,
  refs BLOB NOT NULL,
  body BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS ix_events_id ON events (tenant, event_id);
CREATE INDEX IF NOT EXISTS ix_events_time ON events (tenant, event_time);
CREATE TABLE IF NOT EXISTS refs (
  tenant TEXT NOT NULL,
  key TEXT NOT NULL,
  seq INTEGER NOT NULL,
  n INTEGER NOT NULL,
  role TEXT NOT NULL,
  cls INTEGER NOT NULL,
  PRIMARY KEY (tenant, key, seq, n)
) WITHOUT ROWID;
"""


@dataclass(frozen=True, slots=True)
class Stored:
    """An event read back: the columns genealogy and sharing need, and its JSON."""

    seq: int
    event_id: str
    event_type: str
    event_time_ms: int
    record_time_ms: int
    action: str | None
    biz_step: str | None
    disposition: str | None
    biz_location: str | None
    declared_error: bool
    context_id: int
    refs: list[list[Any]]  # [role, key, quantity, uom, is_class, epc]
    body: bytes


@dataclass(frozen=True, slots=True)
class CaptureResult:
    captured: int
    duplicates: int
    corrected: int
    first_seq: int | None
    last_seq: int | None


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


COLUMNS = (
    "seq, event_id, event_type, event_time, record_time, action, biz_step, disposition, "
    "biz_location, declared_error, context_id, refs, body"
)


def _stored(row: Sequence[Any]) -> Stored:
    return Stored(
        seq=row[0],
        event_id=row[1],
        event_type=row[2],
        event_time_ms=row[3],
        record_time_ms=row[4],
        action=row[5],
        biz_step=row[6],
        disposition=row[7],
        biz_location=row[8],
        declared_error=bool(row[9]),
        context_id=row[10],
        refs=orjson.loads(row[11]),
        body=row[12],
    )


class TraceStore:
    """Thread-safe: one writer at a time (a lock), readers on their own connections."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.Lock()
        self._local = threading.local()
        with self._connect() as con:
            con.executescript(SCHEMA)
        self._contexts: dict[bytes, int] = {}

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute("PRAGMA cache_size=-65536")
        con.execute("PRAGMA temp_store=MEMORY")
        return con

    @property
    def con(self) -> sqlite3.Connection:
        """This thread's connection."""
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            con = self._connect()
            self._local.con = con
        return con

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        con = self.con
        with self._write_lock:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def _context_id(self, con: sqlite3.Connection, body: bytes) -> int:
        known = self._contexts.get(body)
        if known is not None:
            return known
        row = con.execute("SELECT id FROM contexts WHERE body = ?", (body,)).fetchone()
        if row is None:
            row = con.execute(
                "INSERT INTO contexts (body) VALUES (?) RETURNING id", (body,)
            ).fetchone()
        if len(self._contexts) < 10_000:
            self._contexts[body] = row[0]
        return int(row[0])

    def capture(self, tenant: str, events: Sequence[Event]) -> CaptureResult:
        """Store a document's events in one transaction (see the module docstring)."""
        now = _ms(datetime.now(UTC))
        captured = duplicates = corrected = 0
        first: int | None = None
        last: int | None = None
        with self.transaction() as con:
            existing: dict[str, tuple[int, int]] = {}
            ids = [e.event_id for e in events]
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                marks = ",".join("?" * len(chunk))
                for seq, eid, declared in con.execute(
                    f"SELECT seq, event_id, declared_error FROM events "  # noqa: S608 - placeholders only
                    f"WHERE tenant = ? AND event_id IN ({marks})",
                    (tenant, *chunk),
                ):
                    existing[eid] = (seq, declared)
            rows = []
            ref_rows: list[tuple[str, str, int, int, str, int]] = []
            next_seq = (con.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]) + 1
            for e in events:
                found = existing.get(e.event_id)
                if found is not None:
                    if e.declared_error and not found[1]:
                        con.execute(
                            "UPDATE events SET declared_error = 1, body = ? WHERE seq = ?",
                            (e.body, found[0]),
                        )
                        corrected += 1
                    else:
                        duplicates += 1
                    continue
                seq = next_seq
                next_seq += 1
                first = seq if first is None else first
                last = seq
                refs = [[r.role, r.key, r.quantity, r.uom, r.is_class, r.epc] for r in e.refs]
                rows.append(
                    (
                        seq,
                        tenant,
                        e.event_id,
                        e.event_type,
                        _ms(e.event_time),
                        now,
                        e.action,
                        e.biz_step,
                        e.disposition,
                        e.read_point,
                        e.biz_location,
                        int(e.declared_error),
                        self._context_id(con, e.context),
                        orjson.dumps(refs),
                        e.body,
                    )
                )
                ref_rows.extend(
                    (tenant, r.key, seq, n, r.role, int(r.is_class)) for n, r in enumerate(e.refs)
                )
                captured += 1
            con.executemany(
                "INSERT INTO events (seq, tenant, event_id, event_type, event_time, record_time, "
                "action, biz_step, disposition, read_point, biz_location, declared_error, "
                "context_id, refs, body) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            con.executemany("INSERT OR IGNORE INTO refs VALUES (?,?,?,?,?,?)", ref_rows)
        return CaptureResult(captured, duplicates, corrected, first, last)

    def contexts(self, ids: set[int]) -> dict[int, Any]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.con.execute(
            f"SELECT id, body FROM contexts WHERE id IN ({marks})",  # noqa: S608
            tuple(ids),
        )
        return {i: orjson.loads(b) for i, b in rows}

    def select(self, sql: str, params: Sequence[Any]) -> list[Stored]:
        """Events by a WHERE clause built by ``helan.trace.query`` (placeholders only)."""
        rows = self.con.execute(f"SELECT {COLUMNS} FROM events WHERE {sql}", params)  # noqa: S608
        return [_stored(r) for r in rows]

    def by_seq(self, seqs: Sequence[int]) -> dict[int, Stored]:
        out: dict[int, Stored] = {}
        for i in range(0, len(seqs), 900):
            chunk = seqs[i : i + 900]
            marks = ",".join("?" * len(chunk))
            for s in self.select(f"seq IN ({marks})", chunk):
                out[s.seq] = s
        return out

    def seqs_naming(self, tenant: str, keys: Sequence[str]) -> dict[str, list[tuple[int, str]]]:
        """For each key, the (seq, role) of the tenant's events naming it."""
        out: dict[str, list[tuple[int, str]]] = {k: [] for k in keys}
        con = self.con
        for k in keys:
            out[k] = con.execute(
                "SELECT seq, role FROM refs WHERE tenant = ? AND key = ?", (tenant, k)
            ).fetchall()
        return out

    def count(self, tenant: str | None = None) -> int:
        if tenant is None:
            return int(self.con.execute("SELECT count(*) FROM events").fetchone()[0])
        row = self.con.execute("SELECT count(*) FROM events WHERE tenant = ?", (tenant,))
        return int(row.fetchone()[0])

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None
