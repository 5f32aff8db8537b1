"""The store-and-forward buffer: order, durability across reopen, bounds and drop counting."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from helan.edge.buffer import Buffer, BufferUnavailable
from helan.edge.readings import SampleSet


def _sets(n: int, start: int = 0) -> list[SampleSet]:
    return [
        SampleSet(device="d1", ts=1_000 + i, values={"v": i, "s": "x" * 20}, bad={})
        for i in range(start, start + n)
    ]


def test_rows_come_back_in_order_and_survive_reopen(tmp_path: Path) -> None:
    b = Buffer(tmp_path / "b.sqlite3", max_bytes=10**7, max_age_s=3600)
    b.append(_sets(10))
    b.append([SampleSet(device="d2", ts=5, values={}, bad={"p": "timeout"})])
    rows = b.take(after=0, limit=4)
    assert [r.sample.values["v"] for r in rows] == [0, 1, 2, 3]
    b.delete([r.id for r in rows])
    b.close()
    again = Buffer(tmp_path / "b.sqlite3", max_bytes=10**7, max_age_s=3600)
    left = again.take(after=0, limit=100)
    assert [r.sample.values.get("v") for r in left] == [4, 5, 6, 7, 8, 9, None]
    assert left[-1].sample.bad == {"p": "timeout"}
    assert again.stats()["rows"] == 7
    assert again.stats()["sent"] == 4
    again.close()


def test_upto_bounds_the_backlog(tmp_path: Path) -> None:
    b = Buffer(tmp_path / "b.sqlite3", max_bytes=10**7, max_age_s=3600)
    b.append(_sets(5))
    mark = b.last_id()
    b.append(_sets(5, start=5))
    assert [r.sample.values["v"] for r in b.take(after=0, upto=mark, limit=100)] == [0, 1, 2, 3, 4]
    assert [r.sample.values["v"] for r in b.take(after=mark, limit=2)] == [5, 6]
    b.close()


def test_full_buffer_drops_oldest_and_counts(tmp_path: Path) -> None:
    b = Buffer(tmp_path / "b.sqlite3", max_bytes=64 * 1024, max_age_s=3600)
    for i in range(100):
        b.append(_sets(20, start=i * 20))
    stats = b.stats()
    assert stats["bytes"] <= 64 * 1024
    assert stats["dropped_full"] > 0
    assert stats["rows"] + stats["dropped_full"] == 2000
    rows = b.take(after=0, limit=10_000)
    assert rows[-1].sample.values["v"] == 1999  # the newest stayed
    assert rows[0].sample.values["v"] == stats["dropped_full"]  # exactly the oldest went
    b.close()


def test_age_bound_expires_and_counts(tmp_path: Path) -> None:
    b = Buffer(tmp_path / "b.sqlite3", max_bytes=10**7, max_age_s=10)
    b.append(_sets(5))  # ts 1000..1004 ms
    b.append([SampleSet(device="d1", ts=20_000, values={"v": 99})])
    assert b.expire(now=15_000) == 5
    assert b.stats()["dropped_age"] == 5
    assert [r.sample.values["v"] for r in b.take(after=0, limit=10)] == [99]
    b.close()


def test_disk_full_is_a_clear_error_and_keeps_what_was_stored(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite3"
    b = Buffer(path, max_bytes=10**9, max_age_s=3600)
    b.append(_sets(3))
    pages = b._db.execute("PRAGMA page_count").fetchone()[0]  # simulate a full disk:
    b._db.execute(f"PRAGMA max_page_count={pages + 1}")  # SQLite then fails as on ENOSPC
    big = [SampleSet(device="d1", ts=i, values={"s": "x" * 1000}) for i in range(200)]
    with pytest.raises(BufferUnavailable, match="full"):
        b.append(big)
    b.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM samples").fetchone()[0] >= 3


def test_persistent_sequence(tmp_path: Path) -> None:
    b = Buffer(tmp_path / "b.sqlite3", max_bytes=10**7, max_age_s=3600)
    assert [b.next_value("bdseq") for _ in range(3)] == [0, 1, 2]
    b.close()
    again = Buffer(tmp_path / "b.sqlite3", max_bytes=10**7, max_age_s=3600)
    assert again.next_value("bdseq") == 3
    again.close()
