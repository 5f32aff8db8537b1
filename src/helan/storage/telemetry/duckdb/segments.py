"""Staging of written batches as Arrow IPC files next to the database, until compaction.

Why not a table in the database file: staged rows that reach the file (a checkpoint before
compaction) leave freed blocks behind once compaction deletes them, and the file never shrinks.
A segment file is simply deleted.

One segment per ``write``: the batch goes to ``<first seq>.arrow.tmp``, is fsynced, renamed to
``<first seq>.arrow`` and the directory is fsynced, so a segment with its final name is complete
and durable, and a ``.tmp`` left by a crash was never acknowledged (it is removed at open). The
sequence number of a row (first seq + row index) orders rewrites of the same key: the last wins.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from helan.core.errors import StorageUnavailable

SUFFIX = ".arrow"
_TMP = ".arrow.tmp"


@dataclass(frozen=True, slots=True)
class Segment:
    path: Path
    first_seq: int
    rows: int


class SegmentLog:
    """The staged segments of one store, oldest first. Appends are serialised (one lock)."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._lock = threading.Lock()
        for leftover in directory.glob("*" + _TMP):
            leftover.unlink()  # a write that never returned: not acknowledged, not data
        self._segments = [self._open(p) for p in directory.glob("*" + SUFFIX)]
        self._segments.sort(key=lambda s: s.first_seq)
        last = self._segments[-1] if self._segments else None
        self._next_seq = last.first_seq + last.rows if last else 1
        self.rows = sum(s.rows for s in self._segments)

    @staticmethod
    def _open(path: Path) -> Segment:
        try:
            first_seq = int(path.name.removesuffix(SUFFIX))
            with pa.memory_map(str(path)) as source:
                rows = pa.ipc.open_file(source).read_all().num_rows
        except (ValueError, OSError, pa.ArrowInvalid) as exc:
            raise StorageUnavailable(
                f"staged telemetry segment {path} is unreadable ({exc}); it holds acknowledged "
                "points, so the store refuses to open rather than lose them"
            ) from exc
        return Segment(path, first_seq, rows)

    def append(self, batch: pa.Table) -> None:
        """Write ``batch`` as a new segment; returns once it is on stable storage."""
        with self._lock:
            first = self._next_seq
            final = self.directory / f"{first:020d}{SUFFIX}"
            tmp = final.with_name(final.name.removesuffix(SUFFIX) + _TMP)
            try:
                with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, batch.schema) as w:
                    w.write_table(batch)
                _fsync(tmp)
                tmp.rename(final)
                _fsync(self.directory)
            except OSError as exc:
                tmp.unlink(missing_ok=True)
                raise StorageUnavailable(f"cannot stage telemetry batch: {exc}") from exc
            self._segments.append(Segment(final, first, batch.num_rows))
            self._next_seq = first + batch.num_rows
            self.rows += batch.num_rows

    def pending(self) -> list[Segment]:
        """A snapshot of the staged segments, oldest first."""
        with self._lock:
            return list(self._segments)

    @staticmethod
    def read(segments: list[Segment]) -> pa.Table:
        """The segments' rows (memory-mapped, not copied) with a ``seq`` column appended."""
        tables = []
        for s in segments:
            with pa.memory_map(str(s.path)) as source:
                table = pa.ipc.open_file(source).read_all()
            seq = pa.array(np.arange(s.first_seq, s.first_seq + s.rows, dtype=np.int64))
            tables.append(table.append_column("seq", seq))
        return pa.concat_tables(tables)

    def drop(self, segments: list[Segment]) -> None:
        """Forget compacted segments, oldest first: a crash part-way leaves only newer ones,
        and replaying a segment that is already compacted rewrites the same values."""
        with self._lock:
            done = {s.path for s in segments}
            self._segments = [s for s in self._segments if s.path not in done]
            self.rows -= sum(s.rows for s in segments)
        for s in segments:
            s.path.unlink(missing_ok=True)

    def disk_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.directory.iterdir() if p.is_file())


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
