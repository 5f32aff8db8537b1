"""Immutable Parquet files of closed time windows, one per (tenant, window), and their encoding.

Why Parquet: DuckDB never shrinks its file and packs every 2,048-value vector that holds a
series boundary wide. A closed window written once, sorted by (series, ts), with ``ts`` and the
value as delta-bit-packed integers under zstd costs ~0.6 bytes per point on the benchmark's
signals (1 h windows; 0.52 for 4 h), and deleting it returns the space to the file system.

Value encoding, lossless: per series and file, the smallest number of decimals ``d`` (0..15)
such that every value ``v`` equals ``mant / 10**d`` exactly (as the same double) is found, and
the series is stored as ``mant`` (int64, delta) with ``exp = d``; other series keep the double
in ``value`` (byte-stream-split). Text points keep ``text``.

Layout ``<directory>/<tenant>/<start>-<end>.parquet`` (epoch ms, end exclusive): the range in
the name prunes files without opening them. Files are written to ``.tmp``, fsynced, renamed and
the directory fsynced, so a file with its final name is complete.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from helan.core.errors import StorageUnavailable

log = logging.getLogger(__name__)

SUFFIX = ".parquet"
_TMP = ".parquet.tmp"
MAX_DECIMALS = 15
ROW_GROUP_ROWS = 1 << 17  # row-group statistics on ``series`` let a one-series query skip most
_EXACT = float(2**53)

FILE_SCHEMA = pa.schema(
    [
        pa.field("series", pa.int32(), nullable=False),
        pa.field("ts", pa.int64(), nullable=False),
        pa.field("mant", pa.int64()),
        pa.field("exp", pa.int8()),
        pa.field("value", pa.float64()),
        pa.field("text", pa.string()),
        pa.field("quality", pa.int8(), nullable=False),
    ]
)
_POWERS = ", ".join(f"1e{d}" for d in range(MAX_DECIMALS + 1))
# The file columns as the rows of ``points`` (series, ts, value, text, quality).
DECODE = f"coalesce(value, mant / [{_POWERS}][exp + 1])"


@dataclass(frozen=True, slots=True, order=True)
class ArchiveFile:
    start: int
    end: int  # exclusive
    tenant: str
    path: Path


class ArchiveFiles:
    """The archive directory and an in-memory index of its files (guarded by one lock)."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._lock = threading.Lock()
        self._files: dict[str, dict[int, ArchiveFile]] = {}
        # (tenant, day) too large to merge (``archive.merge_days``), remembered for this process
        self.unmerged: set[tuple[str, int]] = set()
        for leftover in directory.glob("*/*" + _TMP):
            leftover.unlink()  # a write that never finished: its rows are still in DuckDB
        found = []
        for path in directory.glob("*/*" + SUFFIX):
            try:
                start, end = (int(x) for x in path.name.removesuffix(SUFFIX).split("-", 1))
            except ValueError as exc:
                raise StorageUnavailable(f"unexpected telemetry archive file {path}") from exc
            found.append(ArchiveFile(start, end, path.parent.name, path))
        for f in _drop_merged(found):
            self._add(f)

    def _add(self, f: ArchiveFile) -> None:
        self._files.setdefault(f.tenant, {})[f.start] = f

    def overlapping(self, tenant: str | None, lo: int, hi: int) -> list[ArchiveFile]:
        """Files of ``tenant`` (every tenant if None) holding any ts in [lo, hi), oldest first."""
        with self._lock:
            tenants = [tenant] if tenant is not None else list(self._files)
            found = [
                f
                for t in tenants
                for f in self._files.get(t, {}).values()
                if f.start < hi and lo < f.end
            ]
        return sorted(found)

    def find(self, tenant: str, start: int, end: int) -> ArchiveFile | None:
        with self._lock:
            f = self._files.get(tenant, {}).get(start)
        return f if f is not None and f.end == end else None

    def write(self, tenant: str, start: int, end: int, rows: pa.Table) -> ArchiveFile:
        """Write (or replace) the window's file from ``rows`` (series, ts, value, text,
        quality; sorted by series, ts); returns once it is durable under its final name."""
        return self.publish(self.stage(tenant, start, end, rows))

    def stage(self, tenant: str, start: int, end: int, rows: pa.Table) -> ArchiveFile:
        """The slow half of :meth:`write`: the file written and fsynced under a temporary name
        (removed at the next open if never published); nothing reads it yet."""
        folder = self.directory / tenant
        folder.mkdir(exist_ok=True)
        final = folder / f"{start}-{end}{SUFFIX}"
        tmp = _staged(final)
        try:
            with tmp.open("wb") as sink:
                pq.write_table(
                    encode(rows),
                    sink,
                    compression="zstd",
                    compression_level=3,
                    use_dictionary=["series", "exp", "text", "quality"],
                    column_encoding={
                        "ts": "DELTA_BINARY_PACKED",
                        "mant": "DELTA_BINARY_PACKED",
                        "value": "BYTE_STREAM_SPLIT",
                    },
                    row_group_size=ROW_GROUP_ROWS,
                )
                sink.flush()
                os.fsync(sink.fileno())
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StorageUnavailable(f"cannot write telemetry archive file {final}: {exc}") from exc
        return ArchiveFile(start, end, tenant, final)

    def publish(self, f: ArchiveFile) -> ArchiveFile:
        """The quick half of :meth:`write`: the staged file renamed into place and indexed."""
        tmp = _staged(f.path)
        try:
            tmp.rename(f.path)
            _fsync_dir(f.path.parent)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            message = f"cannot publish telemetry archive file {f.path}: {exc}"
            raise StorageUnavailable(message) from exc
        with self._lock:
            self._add(f)
        return f

    def remove(self, f: ArchiveFile) -> None:
        with self._lock:
            files = self._files.get(f.tenant, {})
            if files.get(f.start) == f:  # not a merged file that starts where ``f`` did
                del files[f.start]
        f.path.unlink(missing_ok=True)
        _fsync_dir(f.path.parent)

    def days(self, day_ms: int, closed_end: int) -> list[tuple[str, int, list[ArchiveFile]]]:
        """(tenant, day start, files) for each closed day (ending at or before ``closed_end``)
        that more than one file of a tenant covers, each file inside that day."""
        with self._lock:
            everything = [f for files in self._files.values() for f in files.values()]
        days: dict[tuple[str, int], list[ArchiveFile]] = {}
        for f in everything:
            day = f.start - f.start % day_ms
            if f.end <= day + day_ms and day + day_ms <= closed_end:
                days.setdefault((f.tenant, day), []).append(f)
        return [(t, d, sorted(fs)) for (t, d), fs in sorted(days.items()) if len(fs) > 1]

    def rows(self) -> int:
        with self._lock:
            files = [f for by_start in self._files.values() for f in by_start.values()]
        return self.rows_of(files)

    @staticmethod
    def rows_of(files: list[ArchiveFile]) -> int:
        return sum(pq.read_metadata(f.path).num_rows for f in files)

    def disk_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.directory.glob("*/*") if p.is_file())


def _staged(final: Path) -> Path:
    return final.with_name(final.name.removesuffix(SUFFIX) + _TMP)


def _drop_merged(files: list[ArchiveFile]) -> list[ArchiveFile]:
    """A merge (``archive.merge_days``) renames the merged file into place before it deletes
    the files it merged, so a crash between leaves both; the merged file is complete. Files
    inside another file's range are deleted; the others are returned."""
    kept: list[ArchiveFile] = []
    outer: ArchiveFile | None = None
    for f in sorted(files, key=lambda f: (f.tenant, f.start, -f.end)):
        if outer is not None and outer.tenant == f.tenant and f.end <= outer.end:
            f.path.unlink(missing_ok=True)
            log.warning("removed archive file %s: already merged into %s", f.path, outer.path)
            continue
        kept.append(f)
        outer = f
    return kept


def scan_sql(files: list[ArchiveFile]) -> str:
    """A SELECT of the files' rows as ``points`` rows (file paths are quoted literals)."""
    paths = ", ".join("'" + str(f.path).replace("'", "''") + "'" for f in files)
    columns = f"series, ts, {DECODE} AS value, text, quality"
    return f"SELECT {columns} FROM read_parquet([{paths}])"  # noqa: S608


def encode(rows: pa.Table) -> pa.Table:
    """``rows`` in FILE_SCHEMA: quantised series as scaled integers (see the module doc)."""
    series = rows.column("series").to_numpy().astype(np.int32)
    value = rows.column("value")
    valid = value.is_valid().to_numpy(zero_copy_only=False)
    v = value.fill_null(0.0).to_numpy()
    starts = np.flatnonzero(np.r_[True, series[1:] != series[:-1]]) if len(series) else series
    decimals = np.full(len(starts), -1, np.int64)
    with np.errstate(invalid="ignore", over="ignore"):
        for d in range(MAX_DECIMALS + 1):
            todo = decimals < 0
            if not todo.any():
                break
            exact = _exact(v, 10.0**d) | ~valid
            fits = np.logical_and.reduceat(exact, starts) if len(starts) else exact
            decimals[todo & fits] = d
        per_row = np.repeat(decimals, np.diff(np.r_[starts, len(series)]))
        quantised = (per_row >= 0) & valid
        mant = np.rint(v * 10.0 ** np.maximum(per_row, 0)).astype(np.int64)
    return pa.table(
        [
            pa.array(series),
            rows.column("ts").cast(pa.int64()),
            pa.array(mant, mask=~quantised),
            pa.array(per_row.astype(np.int8), mask=per_row < 0),
            pa.array(v, mask=~(valid & ~quantised)),
            rows.column("text").cast(pa.string()),
            rows.column("quality").cast(pa.int8()),
        ],
        schema=FILE_SCHEMA,
    )


def _exact(v: np.ndarray, scale: float) -> np.ndarray:
    m = np.rint(v * scale)
    negative_zero = (v == 0) & np.signbit(v)
    exact: np.ndarray = np.isfinite(m) & (np.abs(m) < _EXACT) & (m / scale == v) & ~negative_zero
    return exact


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
