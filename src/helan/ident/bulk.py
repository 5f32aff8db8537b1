"""Bulk registration: NDJSON or CSV lines, checked one by one, written in large transactions.

NDJSON: one ``{"handle": ..., "values": [...]}`` per line, values as in the REST API.
CSV: a header row ``handle,TYPE1,TYPE2...``; column *n* of a row becomes value index *n* (an
empty cell no value); a row is one physical line (quoted line breaks are not supported).
Every line gets the same checks as a REST ``PUT`` (handle syntax, homed prefix, values,
templates, the writer's ``HS_ADMIN`` rights); a failing line is reported with its number and
Handle response code and stores nothing, while the good lines around it are stored.
"""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import orjson

from helan.ident.codes import AdminPermission, ResponseCode
from helan.ident.errors import HandleError
from helan.ident.model import Handle, HandleValue, prefix_handle
from helan.ident.registry import Identity, Registry
from helan.ident.rest.jsonvalues import value_from_json

BATCH_LINES = 5000
MAX_LINE = 1 << 20
MAX_REPORTED_ERRORS = 1000


class BulkFormat(StrEnum):
    NDJSON = "ndjson"
    CSV = "csv"


@dataclass(frozen=True, slots=True)
class LineError:
    line: int
    rc: ResponseCode
    message: str
    handle: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "line": self.line,
            "handle": self.handle,
            "responseCode": int(self.rc),
            "message": self.message,
        }


@dataclass
class BulkSummary:
    created: int = 0
    updated: int = 0
    failed: int = 0
    errors: list[LineError] = field(default_factory=list)

    def fail(self, error: LineError) -> None:
        self.failed += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(error)

    def to_json(self) -> dict[str, object]:
        return {
            "responseCode": 1,
            "created": self.created,
            "updated": self.updated,
            "failed": self.failed,
            "errors": [e.to_json() for e in sorted(self.errors, key=lambda e: e.line)],
            "errorsTruncated": self.failed > len(self.errors),
        }


def _invalid(message: str) -> HandleError:
    return HandleError(ResponseCode.INVALID_VALUE, message)


class BulkLoader:
    """Feeds numbered lines into a registry's store; ``who=None`` is the local operator (the
    offline CLI), trusted like the node's own bootstrap; otherwise each line needs the rights a
    REST ``PUT`` would need."""

    def __init__(
        self,
        registry: Registry,
        who: Identity | None,
        fmt: BulkFormat,
        *,
        overwrite: bool = False,
    ) -> None:
        self.registry = registry
        self.who = who
        self.fmt = fmt
        self.overwrite = overwrite
        self.summary = BulkSummary()
        self._header: list[str] | None = None
        self._bad_header: HandleError | None = None
        self._owner_ok: dict[tuple[str, AdminPermission], bool] = {}

    def header_error(self) -> HandleError | None:
        """For CSV, a missing or wrong header row (found at line 1) rejects the whole body."""
        if self.fmt is BulkFormat.CSV and self._header is None:
            return self._bad_header or _invalid("the body is empty; CSV needs a header row")
        return None

    def _parse(self, line: bytes) -> tuple[str, list[HandleValue]] | None:
        if self.fmt is BulkFormat.NDJSON:
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise _invalid(f"not JSON: {exc}") from None
            if not isinstance(obj, dict) or not isinstance(obj.get("values"), list):
                raise _invalid("each line needs 'handle' and 'values'")
            return str(obj.get("handle", "")), [value_from_json(v) for v in obj["values"]]
        try:
            row = next(csv.reader([line.decode("utf-8")]))
        except UnicodeDecodeError:
            raise _invalid("line is not UTF-8") from None
        except csv.Error as exc:
            raise _invalid(f"malformed CSV: {exc}") from None
        if self._header is None:
            if not row or row[0] != "handle" or not all(row[1:]):
                self._bad_header = _invalid(
                    "line 1: the CSV header must be 'handle' followed by value types"
                )
                raise self._bad_header
            self._header = row
            return None
        if len(row) != len(self._header):
            raise _invalid(f"{len(row)} columns, the header has {len(self._header)}")
        values = [
            HandleValue(i, t, v.encode())
            for i, (t, v) in enumerate(zip(self._header[1:], row[1:], strict=True), 1)
            if v
        ]
        return row[0], values

    def _authorize(
        self, handle: Handle, existing: Sequence[HandleValue] | None, perm: AdminPermission
    ) -> None:
        if self.who is None:
            return
        if handle.is_prefix_record:
            self.registry.authorize(self.who, handle, existing, perm)
            return
        key = (handle.prefix.upper(), perm)
        if key not in self._owner_ok:
            owner = self.registry.get(Handle.parse(prefix_handle(handle.prefix)))
            self._owner_ok[key] = self.registry.admits(self.who, owner, perm) is True
        if not self._owner_ok[key]:
            self.registry.authorize(self.who, handle, existing, perm)

    def feed(self, lines: Iterable[tuple[int, bytes]]) -> None:
        """Check and store one batch of (line number, line); runs in a worker thread."""
        rows: list[tuple[int, Handle, bytes]] = []
        exists: list[bool] = []
        public = True  # every value of every row public-read: the store need not check again
        for number, line in lines:
            if self._bad_header is not None:
                return
            if not line.strip():
                continue
            name = ""
            try:
                if len(line) > MAX_LINE:
                    raise _invalid(f"line of {len(line)} bytes exceeds {MAX_LINE}")
                parsed = self._parse(line)
                if parsed is None:
                    continue
                name, values = parsed
                handle = Handle.parse(name)
                self.registry.check_homed(handle)
                existing = self.registry.get(handle) if self.overwrite else None
                perm = AdminPermission.ADD_HANDLE
                if existing is not None:
                    perm = AdminPermission.MODIFY_VALUE
                self._authorize(handle, existing, perm)
                self.registry.validate(handle, values)
                stored = self.registry.prepare(values)
                public &= all(v.public_read for v in stored)
                rows.append((number, handle, self.registry.seal(str(handle), stored)))
                exists.append(existing is not None)
            except HandleError as exc:
                self.summary.fail(LineError(number, exc.rc, f"line {number}: {exc.message}", name))
        self._write(rows, exists, public)

    def _write(
        self, rows: list[tuple[int, Handle, bytes]], exists: list[bool], public: bool
    ) -> None:
        store = self.registry.store
        if self.overwrite:
            store.put_many(((h.key, record) for _, h, record in rows), public=public)
            self.summary.updated += sum(exists)
            self.summary.created += len(rows) - sum(exists)
        else:
            done = store.create_many([(h.key, record) for _, h, record in rows])
            for (number, handle, _), created in zip(rows, done, strict=True):
                if not created:
                    message = f"line {number}: {handle} already exists"
                    self.summary.fail(
                        LineError(number, ResponseCode.HANDLE_ALREADY_EXISTS, message, str(handle))
                    )
                else:
                    self.summary.created += 1
        for _, handle, _ in rows:
            self.registry.changed(handle.key)


def numbered(lines: Iterable[bytes], start: int = 1) -> Iterable[list[tuple[int, bytes]]]:
    """Batches of (line number, line) from an iterable of lines."""
    batch: list[tuple[int, bytes]] = []
    for number, line in enumerate(lines, start):
        batch.append((number, line.rstrip(b"\r\n")))
        if len(batch) >= BATCH_LINES:
            yield batch
            batch = []
    if batch:
        yield batch


async def numbered_chunks(chunks: AsyncIterator[bytes]) -> AsyncIterator[list[tuple[int, bytes]]]:
    """Batches of (line number, line) from a byte stream, holding at most one batch and one
    partial line; of a line longer than ``MAX_LINE`` only its first part is kept (and refused
    by ``feed``), the rest is skipped up to its end."""
    pending = b""
    oversize: bytes | None = None  # the kept start of a line being skipped
    number = 0
    batch: list[tuple[int, bytes]] = []
    async for chunk in chunks:
        if oversize is not None:
            end = chunk.find(b"\n")
            if end < 0:
                continue
            number += 1
            batch.append((number, oversize))
            oversize, chunk = None, chunk[end + 1 :]
        *complete, pending = (pending + chunk).split(b"\n")
        for line in complete:
            number += 1
            batch.append((number, line.rstrip(b"\r")))
        if len(pending) > MAX_LINE:
            oversize, pending = pending, b""
        if len(batch) >= BATCH_LINES:
            yield batch
            batch = []
    if oversize is not None or pending:
        number += 1
        batch.append((number, oversize if oversize is not None else pending.rstrip(b"\r")))
    if batch:
        yield batch
