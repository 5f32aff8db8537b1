"""OEE of a tenant's machines from the store: the state metric, the part and reject counters
and each machine's ideal cycle time (device attribute ``ideal_cycle_s``), over a window cut
by the shift calendar. Per machine, per line (the machine's asset) and per shift instance."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from helan.apps.builtin.equipment.counters import increments
from helan.apps.builtin.equipment.shifts import ShiftCalendar
from helan.apps.builtin.equipment.timeline import (
    DEFAULT_MAX_GAP_MS,
    Segment,
    clip,
    overlay_planned,
    timeline,
)
from helan.apps.builtin.oee.kpi import Oee, combine, machine_oee
from helan.apps.sdk import DeviceInfo, TenantScope

STATE, PARTS, REJECTS = "state", "part_count", "reject_count"
IDEAL_ATTR = "ideal_cycle_s"
MACHINE_TYPES = ("cnc-machine", "stamping-press")
MAX_POINTS = 100_000  # per series and window: a day at 1 Hz


@dataclass(frozen=True, slots=True)
class MachineData:
    """What the store holds for one machine in the window (with one max gap before it)."""

    device: DeviceInfo
    state_ts: list[int]
    state: list[str | None]
    parts: tuple[list[int], list[float | None]]
    rejects: tuple[list[int], list[float | None]]


def ideal_cycle(device: DeviceInfo) -> float | None:
    raw = device.attributes.get(IDEAL_ATTR)
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    return float(raw) if raw > 0 else None


def is_machine(device: DeviceInfo, types: Sequence[str] = MACHINE_TYPES) -> bool:
    return device.enabled and (device.device_type in types or IDEAL_ATTR in device.attributes)


async def load(scope: TenantScope, device: DeviceInfo, start_ms: int, end_ms: int) -> MachineData:
    since = start_ms - DEFAULT_MAX_GAP_MS
    state = await scope.query(device.id, STATE, since, end_ms, limit=MAX_POINTS)
    parts = await scope.query(device.id, PARTS, since, end_ms, limit=MAX_POINTS)
    rejects = await scope.query(device.id, REJECTS, since, end_ms, limit=MAX_POINTS)
    return MachineData(
        device,
        state["ts"].to_pylist(),
        state["text"].to_pylist(),
        _series(parts),
        _series(rejects),
    )


def _series(table: pa.Table) -> tuple[list[int], list[float | None]]:
    return table["ts"].to_pylist(), table["value"].to_pylist()


def machine_timeline(
    data: MachineData, start_ms: int, end_ms: int, calendar: ShiftCalendar
) -> list[Segment]:
    segs = timeline(data.state_ts, data.state, start_ms, end_ms)
    return overlay_planned(segs, calendar.not_planned(start_ms, end_ms))


@dataclass(frozen=True, slots=True)
class Counted:
    """A counter's increments once (end time, amount), sliced per window by binary search."""

    end_ms: np.ndarray
    delta: np.ndarray

    @classmethod
    def of(cls, series: tuple[list[int], list[float | None]]) -> Counted:
        inc = increments(*series)
        counted = inc.delta != 0  # a frozen or idle counter's zeros change no sum
        return cls(inc.end_ms[counted], inc.delta[counted])

    def within(self, a: int, b: int) -> list[tuple[int, float]]:
        i, j = np.searchsorted(self.end_ms, [a, b], side="left")
        return list(zip(self.end_ms[i:j].tolist(), self.delta[i:j].tolist(), strict=True))


def _clip(segs: Sequence[Segment], starts: Sequence[int], a: int, b: int) -> list[Segment]:
    i = max(bisect_right(starts, a) - 1, 0)
    j = bisect_left(starts, b)
    return clip(segs[i:j], a, b)


def oee_of(
    data: MachineData,
    segs: Sequence[Segment],
    a: int,
    b: int,
    counted: tuple[Counted, Counted] | None = None,
    starts: Sequence[int] | None = None,
) -> Oee:
    parts, rejects = counted or (Counted.of(data.parts), Counted.of(data.rejects))
    starts = starts if starts is not None else [s.start_ms for s in segs]
    return machine_oee(
        _clip(segs, starts, a, b),
        parts.within(a, b),
        rejects.within(a, b),
        ideal_cycle(data.device),
    )


def report(
    machines: Sequence[MachineData], start_ms: int, end_ms: int, calendar: ShiftCalendar
) -> dict[str, Any]:
    """Per machine, per line and per shift instance, as the API returns it."""
    per_machine: dict[str, Oee] = {}
    timelines: dict[str, list[Segment]] = {}
    by_line: dict[str, list[Oee]] = {}
    shifts = calendar.instances(start_ms, end_ms)
    by_shift: dict[str, list[Oee]] = {}
    for m in machines:
        segs = machine_timeline(m, start_ms, end_ms, calendar)
        timelines[m.device.id] = segs
        counted = (Counted.of(m.parts), Counted.of(m.rejects))
        starts = [s.start_ms for s in segs]
        result = oee_of(m, segs, start_ms, end_ms, counted, starts)
        per_machine[m.device.id] = result
        by_line.setdefault(m.device.asset or "-", []).append(result)
        for inst in shifts:
            a, b = max(inst.start_ms, start_ms), min(inst.end_ms, end_ms)
            by_shift.setdefault(inst.label, []).append(oee_of(m, segs, a, b, counted, starts))
    return {
        "start_ms": start_ms,
        "end_ms": end_ms,
        "zone": calendar.zone,
        "machines": [
            {
                "device": m.device.id,
                "name": m.device.name,
                "line": m.device.asset,
                "ideal_cycle_s": ideal_cycle(m.device),
                **per_machine[m.device.id].as_dict(),
                "timeline": [[s.start_ms, s.end_ms, s.state] for s in timelines[m.device.id]],
            }
            for m in machines
        ],
        "lines": [{"line": k, **combine(v).as_dict()} for k, v in sorted(by_line.items())],
        "shifts": [{"shift": k, **combine(v).as_dict()} for k, v in by_shift.items() if v],
    }
