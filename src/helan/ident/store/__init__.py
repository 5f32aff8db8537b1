"""Where a node keeps its handle records: LMDB (default), SQLite or PostgreSQL, one protocol."""

from __future__ import annotations

from pathlib import Path

from helan.ident.store.base import HandleStore


def open_store(url: str, data_dir: Path | None = None) -> HandleStore:
    """``lmdb:PATH``, ``sqlite:PATH`` or a ``postgresql://`` URL (a bare path means LMDB)."""
    if url.startswith(("postgresql://", "postgres://")):
        from helan.ident.store.postgres import PostgresStore

        return PostgresStore(url)
    kind, _, path = url.partition(":") if ":" in url else ("lmdb", "", url)
    target = Path(path)
    if data_dir is not None and not target.is_absolute():
        target = data_dir / target
    if kind == "sqlite":
        from helan.ident.store.sqlite import SqliteStore

        return SqliteStore(target)
    if kind == "lmdb":
        from helan.ident.store.lmdb import LmdbStore

        return LmdbStore(target)
    raise ValueError(f"unknown store {url!r}: use lmdb:PATH, sqlite:PATH or postgresql://...")


__all__ = ["HandleStore", "open_store"]
