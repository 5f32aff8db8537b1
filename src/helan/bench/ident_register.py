"""ident-register: bulk registration of N identifiers into one enterprise node's store.

Each identifier is validated (handle syntax) and stored as a Handle record of about 190 bytes
(a URL and a product-category value), in 100,000-record transactions, synced to disk at the end.
"""

from __future__ import annotations

import resource
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from helan.ident.model import Handle, HandleValue
from helan.ident.store.lmdb import LmdbStore
from helan.ident.store.sqlite import SqliteStore
from helan.ident.wire.buffer import blob, u32
from helan.ident.wire.records import encode_value
from helan.observe.report import report

PREFIX = "88.118.100"


def records(n: int, start: int = 0) -> Iterator[tuple[bytes, bytes]]:
    """Identifier records as an enterprise registers them: handle checked, values encoded."""
    now = int(time.time())
    category = encode_value(
        HandleValue(2, "PRODUCT_CATEGORY", b"C39.1 industrial robot", timestamp=now)
    )
    for i in range(start, start + n):
        handle = Handle.parse(f"{PREFIX}/SN-{i:010d}")
        url = HandleValue(
            1,
            "URL",
            f"https://mes.factory.example/api/v1/items/SN-{i:010d}".encode(),
            timestamp=now,
        )
        # The stored form of encode_record(handle, [url, category]), built without re-sorting.
        yield handle.key, blob(str(handle).encode()) + u32(2) + encode_value(url) + category


def run(
    ids: Annotated[int, typer.Option(help="Identifiers to register.")] = 10_000_000,
    store: Annotated[str, typer.Option(help="lmdb or sqlite.")] = "lmdb",
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Where to put the store (default: a temp dir).")
    ] = None,
    keep: Annotated[
        bool, typer.Option(help="Keep the store afterwards (ident-udp can reuse it).")
    ] = False,
) -> None:
    """Register identifiers in bulk; report ids/s, disk bytes and peak RSS."""
    base = directory or Path(tempfile.mkdtemp(prefix="helan-ident-"))
    path = base / f"bench.{store}"
    target: LmdbStore | SqliteStore = (
        LmdbStore(path, sync=False) if store == "lmdb" else SqliteStore(path)
    )
    try:
        t0 = time.perf_counter()
        n = target.put_many(records(ids), public=True)  # records() encodes public values only
        if isinstance(target, LmdbStore):
            target.sync()
        elapsed = time.perf_counter() - t0
        sample = Handle.parse(f"{PREFIX}/SN-{ids // 2:010d}").key
        assert target.get(sample) is not None, "a registered identifier is missing"
        disk = target.disk_bytes()
    finally:
        target.close()
        if not keep:
            shutil.rmtree(base if directory is None else path, ignore_errors=True)
    figures = {
        "ids": n,
        "ids_per_s": round(n / elapsed),
        "disk_bytes": disk,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "seconds": round(elapsed, 2),
        "store": store,
    }
    report("ident-register", figures, {"ids_per_s": "target >= 100,000"})
