"""A machine's state timeline from samples of its state metric.

A state holds from its sample until the next sample, but never longer than ``max_gap_ms``: past
that the machine's state is *unknown* (a gap is missing data, not more running). Samples are
sorted by time first, so a clock that jumped back reorders them instead of making negative
durations; a repeated timestamp keeps the last sample. Texts the mapping does not know are
``unknown`` too, so an unexpected PLC value never counts as production time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

State = Literal["run", "idle", "down", "planned_stop", "maintenance", "unknown"]
STATES: tuple[State, ...] = ("run", "idle", "down", "planned_stop", "maintenance", "unknown")
# Raw state texts seen on PLCs and in the simulator -> the model's states.
DEFAULT_MAPPING: Mapping[str, State] = {
    "run": "run",
    "running": "run",
    "auto": "run",
    "idle": "idle",
    "ready": "idle",
    "waiting": "idle",
    "setup": "idle",
    "down": "down",
    "fault": "down",
    "alarm": "down",
    "breakdown": "down",
    "planned_stop": "planned_stop",
    "break": "planned_stop",
    "off": "planned_stop",
    "maintenance": "maintenance",
    "service": "maintenance",
}
DEFAULT_MAX_GAP_MS = 60_000


@dataclass(frozen=True, slots=True)
class Segment:
    """``state`` held in [start_ms, end_ms)."""

    start_ms: int
    end_ms: int
    state: State

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


def timeline(
    ts_ms: Sequence[int],
    states: Sequence[str | None],
    start_ms: int,
    end_ms: int,
    *,
    max_gap_ms: int = DEFAULT_MAX_GAP_MS,
    mapping: Mapping[str, State] = DEFAULT_MAPPING,
    before: str | None = None,
) -> list[Segment]:
    """Segments covering [start_ms, end_ms) exactly, adjacent ones of equal state merged.

    ``before`` is the state in force at ``start_ms`` (the last sample before the window, if
    the caller knows it); it holds until the first sample, within ``max_gap_ms``."""
    if end_ms <= start_ms:
        return []
    if max_gap_ms <= 0:
        raise ValueError("max_gap_ms must be positive")
    if len(ts_ms) != len(states):
        raise ValueError("ts_ms and states must have the same length")
    latest: dict[int, str | None] = {}
    for t, s in zip(ts_ms, states, strict=True):
        latest[int(t)] = s  # a repeated timestamp: the last sample wins
    ordered = sorted(latest.items())
    points: list[tuple[int, State]] = []
    if before is not None:
        points.append((start_ms, _state(before, mapping)))
    points += [(t, _state(s, mapping)) for t, s in ordered if t < end_ms]
    out: list[Segment] = []
    cursor = start_ms
    for i, (t, state) in enumerate(points):
        nxt = points[i + 1][0] if i + 1 < len(points) else end_ms
        held_to = min(nxt, t + max_gap_ms, end_ms)
        begin = max(t, start_ms)
        if held_to <= begin:
            continue
        if begin > cursor:
            _append(out, Segment(cursor, begin, "unknown"))
        _append(out, Segment(begin, held_to, state))
        cursor = held_to
    if cursor < end_ms:
        _append(out, Segment(cursor, end_ms, "unknown"))
    return out


def _state(raw: str | None, mapping: Mapping[str, State]) -> State:
    if raw is None:
        return "unknown"
    return mapping.get(raw.strip().lower(), "unknown")


def _append(out: list[Segment], seg: Segment) -> None:
    if out and out[-1].state == seg.state and out[-1].end_ms == seg.start_ms:
        out[-1] = Segment(out[-1].start_ms, seg.end_ms, seg.state)
    else:
        out.append(seg)


def overlay_planned(
    segments: Iterable[Segment], planned: Iterable[tuple[int, int]]
) -> list[Segment]:
    """The timeline with every interval of ``planned`` (no production planned: outside the
    shifts, breaks) turned into ``planned_stop``, whatever the machine reported then; a
    reported ``maintenance`` stays (planned maintenance is its own loss class)."""
    cuts = sorted(planned)
    out: list[Segment] = []
    for seg in segments:
        pos = seg.start_ms
        for a, b in cuts:
            if b <= pos or a >= seg.end_ms:
                continue
            if a > pos:
                _append(out, Segment(pos, a, seg.state))
            stop = min(b, seg.end_ms)
            state: State = "maintenance" if seg.state == "maintenance" else "planned_stop"
            _append(out, Segment(max(a, pos), stop, state))
            pos = stop
        if pos < seg.end_ms:
            _append(out, Segment(pos, seg.end_ms, seg.state))
    return out


def durations(segments: Iterable[Segment]) -> dict[State, int]:
    """Milliseconds per state."""
    out: dict[State, int] = dict.fromkeys(STATES, 0)
    for seg in segments:
        out[seg.state] += seg.duration_ms
    return out


def clip(segments: Iterable[Segment], start_ms: int, end_ms: int) -> list[Segment]:
    """The part of the timeline inside [start_ms, end_ms)."""
    out: list[Segment] = []
    for seg in segments:
        a, b = max(seg.start_ms, start_ms), min(seg.end_ms, end_ms)
        if a < b:
            out.append(Segment(a, b, seg.state))
    return out
