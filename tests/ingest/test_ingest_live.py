"""Live state: written points are merged lazily, but every read sees them, newest first."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from helan.core.points import POINT_SCHEMA
from helan.ingest import live as live_module
from helan.ingest.live import LiveState


def _points(rows: list[tuple[str, str, int, float | None, str | None]]) -> pa.Table:
    return pa.table(
        [
            pa.array(["acme"] * len(rows), pa.string()),
            pa.array([r[0] for r in rows], pa.string()),
            pa.array([r[1] for r in rows], pa.string()),
            pa.array([r[2] for r in rows], pa.int64()),
            pa.array([r[3] for r in rows], pa.float64()),
            pa.array([r[4] for r in rows], pa.string()),
            pa.array(np.zeros(len(rows), dtype=np.int8)),
        ],
        schema=POINT_SCHEMA,
    )


def test_reads_see_queued_points_and_older_never_wins() -> None:
    live = LiveState(offline_after_s=60)
    live.apply(
        _points([("p1", "pressure", 2000, 2.0, None), ("p1", "state", 1000, None, "ok")]),
        seen_ms=5000,
    )
    live.apply(
        _points([("p1", "pressure", 1500, 1.5, None), ("p2", "pressure", 10, 9.0, None)]),
        seen_ms=6000,
    )
    p1 = live.device("acme", "p1")
    assert p1 is not None
    assert p1.values["pressure"].ts == 2000
    assert p1.values["pressure"].value == 2.0
    assert p1.values["state"].text == "ok"
    assert p1.last_seen_ms == 6000
    live.apply(_points([("p1", "pressure", 1800, 1.8, None)]), seen_ms=7000)
    assert live.devices("acme")["p1"].values["pressure"].value == 2.0  # folded: still newest
    assert set(live.devices("acme")) == {"p1", "p2"}


def test_out_of_order_batch_keeps_the_newest(monkeypatch) -> None:
    monkeypatch.setattr(live_module, "FOLD_ROWS", 3)  # merge while applying
    live = LiveState(offline_after_s=60)
    live.apply(
        _points(
            [("p1", "m", 30, 3.0, None), ("p1", "m", 10, 1.0, None), ("p1", "m", 20, 2.0, None)]
        ),
        seen_ms=1,
    )
    assert live._queued == []  # merged already
    state = live.device("acme", "p1")
    assert state is not None
    assert state.values["m"].value == 3.0
