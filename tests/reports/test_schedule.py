"""When a scheduled report is due: the last daily, weekly (Monday) or monthly (1st) time at
the report's hour in its own time zone, across month ends and a DST change."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from helan.reports.runs import last_due


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("schedule", "hour", "tz", "now", "expected"),
    [
        # 06:00 Shanghai is 22:00 UTC the day before.
        ("daily", 6, "Asia/Shanghai", _utc(2026, 12, 3, 21, 59), _utc(2026, 12, 2, 22, 0)),
        ("daily", 6, "Asia/Shanghai", _utc(2026, 12, 3, 22, 0), _utc(2026, 12, 3, 22, 0)),
        # 2026-12-03 is a Thursday: the last Monday 06:00 Shanghai is 2026-11-30 06:00.
        ("weekly", 6, "Asia/Shanghai", _utc(2026, 12, 3, 12, 0), _utc(2026, 11, 29, 22, 0)),
        ("monthly", 6, "Asia/Shanghai", _utc(2026, 12, 3, 12, 0), _utc(2026, 11, 30, 22, 0)),
        # Before this month's first run: last month's.
        ("monthly", 6, "UTC", _utc(2026, 3, 1, 5, 0), _utc(2026, 2, 1, 6, 0)),
        ("monthly", 0, "UTC", _utc(2026, 1, 1, 0, 0), _utc(2026, 1, 1, 0, 0)),
        # Berlin moved to summer time on 2026-03-29: 06:00 local is 04:00 UTC after, 05:00 before.
        ("daily", 6, "Europe/Berlin", _utc(2026, 3, 29, 12, 0), _utc(2026, 3, 29, 4, 0)),
        ("daily", 6, "Europe/Berlin", _utc(2026, 3, 29, 3, 0), _utc(2026, 3, 28, 5, 0)),
    ],
)
def test_last_due(schedule: str, hour: int, tz: str, now: datetime, expected: datetime) -> None:
    assert last_due(schedule, hour, tz, now) == expected


def test_unknown_schedule() -> None:
    with pytest.raises(ValueError, match="hourly"):
        last_due("hourly", 6, "UTC", _utc(2026, 1, 1))
