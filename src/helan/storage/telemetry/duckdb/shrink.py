"""Give the DuckDB file's free blocks back to the file system by copying it.

DuckDB reuses free blocks but never shrinks its file. Once archiving has moved a window out,
the file is mostly free blocks (about one window of hot data) around a small live part (the
newest points, roll-ups, ``latest``, ``series``). Copying the live part into a new file and
renaming it over the old one returns that space. Crash safety: the copy is written to
``<file>.new`` and closed (so it is checkpointed, without a WAL) before the atomic rename; a
crash before the rename leaves the old file intact and a ``.new`` that the next open removes.
"""

# ruff: noqa: S608 - SQL text is built only from this module's constants and int() values.
from __future__ import annotations

import os
from pathlib import Path

import duckdb

from helan.storage.telemetry.duckdb.schema import DDL

_ORDER = {
    "series": "id",
    "points": "series, ts",
    "rollup_1m": "series, bucket",
    "rollup_1h": "series, bucket",
    "latest": "series",
}
MIN_FREE_BYTES = 4 << 20


def copy_path(path: Path) -> Path:
    return path.with_name(path.name + ".new")


def remove_unfinished(path: Path) -> None:
    """At open: a copy that never got renamed is not the database."""
    for leftover in (copy_path(path), copy_path(path).with_name(copy_path(path).name + ".wal")):
        leftover.unlink(missing_ok=True)


def worth_shrinking(db: duckdb.DuckDBPyConnection) -> bool:
    """Whether free blocks are a third of the file or more (and a few MB)."""
    row = db.execute(
        "SELECT free_blocks * block_size, total_blocks * block_size FROM pragma_database_size()"
    ).fetchone()
    return bool(row and row[0] >= MIN_FREE_BYTES and 3 * row[0] >= row[1])


def shrink(
    db: duckdb.DuckDBPyConnection,
    path: Path,
    config: dict[str, str | bool | int | float | list[str]],
) -> duckdb.DuckDBPyConnection:
    """Copy the tables into a new file, rename it over ``path``; returns the connection to
    the new file (``db`` is closed). The caller guarantees no other cursor is in use."""
    new = copy_path(path)
    remove_unfinished(path)
    db.execute("CHECKPOINT")
    row = db.execute("SELECT current_database()").fetchone()
    main = '"' + str(row[0] if row else "").replace('"', '""') + '"'
    quoted = "'" + str(new).replace("'", "''") + "'"
    db.execute(f"ATTACH {quoted} AS fresh")
    try:
        db.execute("USE fresh")
        db.execute(DDL)
        row = db.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {main}.series").fetchone()
        db.execute("DROP SEQUENCE series_id")  # ids continue after the largest one in use
        db.execute(f"CREATE SEQUENCE series_id START {int(row[0]) if row else 1}")
        for table, order in _ORDER.items():
            db.execute(f"INSERT INTO fresh.{table} SELECT * FROM {main}.{table} ORDER BY {order}")
    finally:
        db.execute(f"USE {main}")
        db.execute("DETACH fresh")
    db.close()
    os.replace(new, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return duckdb.connect(str(path), config=config)
