"""Backtest: telemetry and events written to a real platform's stores (DuckDB, SQLite), and
what the rule would have raised over them, without saving or notifying anything."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helan.core.errors import ValidationFailed
from helan.core.events import EventRow
from helan.core.points import batch_from_columns
from helan.platform import Platform
from helan.rules.backtest import MAX_CHANGES, backtest
from helan.rules.checks import parse_spec, target_devices
from helan.storage.meta.events import EventStore
from tests.rules.test_checks import seed

sys.path.insert(0, str(Path(__file__).parents[1] / "api"))
from meta_world import build_platform, close_platform

T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC
S, MIN = 1000, 60_000
HOT = {"kind": "threshold", "metric": "temp", "op": ">", "value": 80}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """An hour of acme's pumps once a minute: p1 hot from 10 to 19 min, silent 30-45 min;
    p2 cool; bolt's b1 (not acme's) hot all along. Events: p1 jams at 50 min, reset at 52."""
    p = build_platform(tmp_path_factory.mktemp("backtest") / "var")
    seed(p.meta)
    rows: list[tuple[str, str, str, int, float]] = []
    for minute in range(60):
        ts = T0 + minute * MIN
        if not 30 <= minute < 45:
            rows.append(("acme", "p1", "temp", ts, 90.0 if 10 <= minute < 20 else 50.0))
        rows.append(("acme", "p2", "temp", ts, 40.0))
        rows.append(("bolt", "b1", "temp", ts, 99.0))
    p.telemetry.write(
        batch_from_columns(*(list(col) for col in zip(*rows, strict=True)))  # type: ignore[arg-type]
    )
    EventStore(p.meta).write(
        [
            EventRow("acme", "p1", T0 + 50 * MIN, "jam", "fault", {"axis": "x"}),
            EventRow("acme", "p1", T0 + 52 * MIN, "reset", "info", {}),
            EventRow("bolt", "b1", T0 + 50 * MIN, "jam", "fault", {"axis": "x"}),
        ]
    )
    yield p
    close_platform(p)


def run(
    platform: Platform, condition: Any, *, start: int = T0, end: int = T0 + 60 * MIN, **extra: Any
) -> Any:
    spec = parse_spec(
        {"name": "bt", "target": {"device_type": "pump"}, "condition": condition, **extra}
    )
    with platform.meta.session() as s:
        devices = frozenset(d for d, _ in target_devices(s, "acme", spec))
    return backtest(
        tenant="acme",
        spec=spec,
        devices=devices,
        telemetry=platform.telemetry,
        events=EventStore(platform.meta),
        start_ms=start,
        end_ms=end,
    )


def test_threshold_with_duration(platform: Platform) -> None:
    result = run(platform, HOT, for_s=120)
    assert (result.devices, result.points, result.events) == (3, 45 + 60, 2)
    assert (result.raised, result.cleared, result.truncated) == (1, 1, False)
    up, down = result.changes
    assert (up.device, up.active, up.ts_ms) == ("p1", True, T0 + 12 * MIN)
    assert (down.device, down.active, down.ts_ms) == ("p1", False, T0 + 20 * MIN)
    assert result.active_ms == {"p1": 8 * MIN}
    assert (up.historical, up.rule_id) == (False, "backtest")


def test_no_data_and_its_return(platform: Platform) -> None:
    result = run(platform, {"kind": "no_data", "metric": "temp", "for_s": 300})
    assert [(c.device, c.active, c.ts_ms) for c in result.changes] == [
        ("p1", True, T0 + 34 * MIN),  # last point at 29 min, silent for 5 min
        ("p1", False, T0 + 45 * MIN),  # data again
    ]
    assert result.active_ms == {"p1": 11 * MIN}
    assert result.devices == 3  # p3 has no data at all: never a baseline, never raised


def test_events_in_range_of_the_tenant_only(platform: Platform) -> None:
    result = run(
        platform, {"kind": "event", "type": "jam", "where": {"axis": "x"}, "clear_type": "reset"}
    )
    assert [(c.device, c.active, c.ts_ms) for c in result.changes] == [
        ("p1", True, T0 + 50 * MIN),
        ("p1", False, T0 + 52 * MIN),
    ]


def test_still_active_at_the_end_counts_to_the_end(platform: Platform) -> None:
    result = run(platform, HOT, end=T0 + 15 * MIN)
    assert (result.raised, result.cleared) == (1, 0)
    assert result.active_ms == {"p1": 5 * MIN}


def test_range_outside_the_data_finds_nothing(platform: Platform) -> None:
    result = run(platform, HOT, start=T0 - 120 * MIN, end=T0 - 60 * MIN)
    assert (result.points, result.raised, result.changes) == (0, 0, [])


def test_changes_are_capped_but_counted(platform: Platform) -> None:
    rows = [
        ("acme", "p3", "temp", T0 + 70 * MIN + i * S, 90.0 if i % 2 else 10.0)
        for i in range(2 * MAX_CHANGES + 10)
    ]
    platform.telemetry.write(batch_from_columns(*(list(c) for c in zip(*rows, strict=True))))  # type: ignore[arg-type]
    result = run(platform, HOT, start=T0 + 70 * MIN, end=T0 + 120 * MIN)
    assert result.raised + result.cleared == 2 * MAX_CHANGES + 9
    assert len(result.changes) == MAX_CHANGES
    assert result.truncated is True


@pytest.mark.parametrize(
    ("start", "end"),
    [(T0, T0), (T0, T0 - 1), (T0, T0 + 8 * 24 * 3600 * S)],
)
def test_range_is_bounded(platform: Platform, start: int, end: int) -> None:
    with pytest.raises(ValidationFailed, match="at most 7 days"):
        run(platform, HOT, start=start, end=end)
