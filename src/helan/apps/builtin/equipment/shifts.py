"""Shift calendars: when production is planned, in the plant's own time zone.

A calendar names its zone (checked with :func:`helan.core.zones.check_zone`), its shifts
(a shift ending at or before its start time runs past midnight) with breaks inside them, and
the working weekdays. Time outside every shift, and breaks, is *not planned*: ISO 22400's
planned busy time leaves it out, so an idle machine at night is not an availability loss.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from helan.core.zones import check_zone

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
DAY_MS = 86_400_000


def _clock(text: str, where: str) -> time:
    m = _HHMM.match(text)
    if m is None:
        raise ValueError(f"{where}: {text!r} is not a HH:MM time")
    return time(int(m.group(1)), int(m.group(2)))


@dataclass(frozen=True, slots=True, kw_only=True)
class Shift:
    name: str
    start: str  # "HH:MM" local time
    end: str  # "HH:MM"; at or before start: the next day
    breaks: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a shift needs a name")
        _clock(self.start, f"shift {self.name} start")
        _clock(self.end, f"shift {self.name} end")
        for i, (a, b) in enumerate(self.breaks):
            _clock(a, f"shift {self.name} break {i} start")
            _clock(b, f"shift {self.name} break {i} end")


@dataclass(frozen=True, slots=True)
class ShiftInstance:
    """One shift on one day: [start_ms, end_ms) with its breaks, all epoch ms."""

    name: str
    day: date
    start_ms: int
    end_ms: int
    breaks: tuple[tuple[int, int], ...]

    @property
    def label(self) -> str:
        return f"{self.day.isoformat()}/{self.name}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ShiftCalendar:
    zone: str = "Asia/Shanghai"
    shifts: tuple[Shift, ...] = field(
        default_factory=lambda: (
            Shift(name="A", start="08:00", end="16:00", breaks=(("12:00", "12:30"),)),
            Shift(name="B", start="16:00", end="00:00", breaks=(("20:00", "20:30"),)),
            Shift(name="C", start="00:00", end="08:00", breaks=(("04:00", "04:30"),)),
        )
    )
    workdays: frozenset[int] = frozenset(range(7))  # Monday = 0

    def __post_init__(self) -> None:
        check_zone(self.zone)
        if not self.shifts:
            raise ValueError("a calendar needs at least one shift")
        if len({s.name for s in self.shifts}) != len(self.shifts):
            raise ValueError("shift names must be unique")
        if not self.workdays <= frozenset(range(7)):
            raise ValueError("workdays are 0 (Monday) .. 6")

    def instances(self, start_ms: int, end_ms: int) -> list[ShiftInstance]:
        """Shift instances that overlap [start_ms, end_ms), by start time (not clipped)."""
        tz = ZoneInfo(self.zone)
        first = datetime.fromtimestamp(start_ms / 1000, tz).date() - timedelta(days=1)
        last = datetime.fromtimestamp(end_ms / 1000, tz).date()
        out: list[ShiftInstance] = []
        day = first
        while day <= last:
            if day.weekday() in self.workdays:
                for shift in self.shifts:
                    inst = _instance(shift, day, tz)
                    if inst.start_ms < end_ms and inst.end_ms > start_ms:
                        out.append(inst)
            day += timedelta(days=1)
        return sorted(out, key=lambda i: i.start_ms)

    def not_planned(self, start_ms: int, end_ms: int) -> list[tuple[int, int]]:
        """Intervals of [start_ms, end_ms) outside every shift or inside a break."""
        planned: list[tuple[int, int]] = []
        for inst in self.instances(start_ms, end_ms):
            pos = inst.start_ms
            for a, b in sorted(inst.breaks):
                if a > pos:
                    planned.append((pos, a))
                pos = max(pos, b)
            if pos < inst.end_ms:
                planned.append((pos, inst.end_ms))
        return _complement(planned, start_ms, end_ms)


def _at(day: date, clock: time, tz: ZoneInfo) -> int:
    return int(datetime.combine(day, clock, tz).timestamp() * 1000)


def _instance(shift: Shift, day: date, tz: ZoneInfo) -> ShiftInstance:
    start_c, end_c = _clock(shift.start, shift.name), _clock(shift.end, shift.name)
    start = _at(day, start_c, tz)
    end_day = day + timedelta(days=1) if end_c <= start_c else day
    end = _at(end_day, end_c, tz)
    breaks: list[tuple[int, int]] = []
    for a, b in shift.breaks:
        ca, cb = _clock(a, shift.name), _clock(b, shift.name)
        ba = _at(day if ca >= start_c else end_day, ca, tz)
        bb = _at(day if cb > start_c else end_day, cb, tz)
        if not start <= ba < bb <= end:
            raise ValueError(f"shift {shift.name}: break {a}-{b} lies outside the shift")
        breaks.append((ba, bb))
    return ShiftInstance(shift.name, day, start, end, tuple(breaks))


def _complement(
    intervals: Sequence[tuple[int, int]], start_ms: int, end_ms: int
) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    pos = start_ms
    for a, b in sorted(intervals):
        a, b = max(a, start_ms), min(b, end_ms)
        if b <= a:
            continue
        if a > pos:
            out.append((pos, a))
        pos = max(pos, b)
    if pos < end_ms:
        out.append((pos, end_ms))
    return out
