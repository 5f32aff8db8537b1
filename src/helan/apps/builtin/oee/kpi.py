"""OEE after ISO 22400-2:2014, with Nakajima's six big losses, MTBF and MTTR.

Times come from the machine's state timeline (``equipment.timeline``) with the shift
calendar's unplanned time already turned into ``planned_stop``:

- PBT (planned busy time) = run + idle + down inside planned time. Planned stops and planned
  maintenance are outside it; *unknown* time (no data) is left out too and reported as
  ``unknown_s`` / ``coverage``, so a gap in the data is neither availability loss nor run time.
- APT (actual production time) = run.
- Availability = APT / PBT; Effectiveness (performance) = PRI x PQ / APT with PRI the ideal
  cycle time per part; Quality rate = GQ / PQ; OEE = availability x effectiveness x quality.

A machine without an ideal cycle time gets availability and quality but no effectiveness and
no OEE, with status ``no_ideal_cycle_time``: an OEE without it would be a made-up figure.
The six losses are in seconds and add up, with the valuable operating time PRI x GQ, to PBT.
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from helan.apps.builtin.equipment.health import health_index
from helan.apps.builtin.equipment.timeline import Segment, durations

Status = Literal["ok", "no_ideal_cycle_time", "no_planned_time", "no_production"]
SMALL_STOP_S = 300.0  # idle stops shorter than this are minor stops, longer are setup/adjust
STARTUP_S = 600.0  # rejects within this long after a restart are start-up rejects
LOSSES = (
    "breakdowns",
    "setup_adjustments",
    "small_stops",
    "reduced_speed",
    "startup_rejects",
    "production_rejects",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Oee:
    """ISO 22400-2 figures of one machine (or a sum of machines) over a window."""

    status: Status
    pbt_s: float
    apt_s: float
    down_s: float
    idle_s: float
    planned_stop_s: float
    maintenance_s: float
    unknown_s: float
    coverage: float | None  # share of the planned time with data
    produced: float  # PQ
    rejects: float  # scrap quantity
    good: float  # GQ
    availability: float | None
    performance: float | None
    quality: float | None
    oee: float | None
    failures: int
    mtbf_s: float | None
    mttr_s: float | None
    health: float | None
    losses_s: dict[str, float | None] = field(default_factory=dict)
    machines: int = 1
    without_ideal_cycle: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ratio(a: float, b: float) -> float | None:
    return a / b if b > 0 else None


def machine_oee(
    segments: Sequence[Segment],
    parts: Iterable[tuple[int, float]],
    rejects: Iterable[tuple[int, float]],
    ideal_cycle_s: float | None,
    *,
    small_stop_s: float = SMALL_STOP_S,
    startup_s: float = STARTUP_S,
) -> Oee:
    """``parts`` and ``rejects`` are (epoch ms, increment) pairs inside the window (counter
    increments, see ``equipment.counters``); rejects are part of the produced quantity."""
    if ideal_cycle_s is not None and not ideal_cycle_s > 0:
        ideal_cycle_s = None  # zero or negative is no ideal cycle time at all
    ms = durations(segments)
    run, idle, down = ms["run"] / 1000, ms["idle"] / 1000, ms["down"] / 1000
    pbt = run + idle + down
    produced = float(sum(d for _, d in parts))
    reject_list = list(rejects)
    scrap = min(float(sum(d for _, d in reject_list)), produced)
    good = produced - scrap
    restarts = _restarts(segments)
    window_ms = startup_s * 1000

    def after_restart(t: int) -> bool:
        i = bisect_right(restarts, t) - 1  # the last restart at or before t
        return i >= 0 and t < restarts[i] + window_ms

    startup_scrap = min(scrap, float(sum(d for t, d in reject_list if after_restart(t))))
    small = sum(
        s.duration_ms / 1000
        for s in segments
        if s.state == "idle" and s.duration_ms / 1000 < small_stop_s
    )
    failures = sum(1 for s in segments if s.state == "down")
    availability = _ratio(run, pbt)
    quality = _ratio(good, produced)
    performance = None
    losses: dict[str, float | None] = {
        "breakdowns": down,
        "setup_adjustments": idle - small,
        "small_stops": small,
        "reduced_speed": None,
        "startup_rejects": None,
        "production_rejects": None,
    }
    if ideal_cycle_s is not None:
        performance = _ratio(ideal_cycle_s * produced, run)
        losses["reduced_speed"] = run - ideal_cycle_s * produced
        losses["startup_rejects"] = ideal_cycle_s * startup_scrap
        losses["production_rejects"] = ideal_cycle_s * (scrap - startup_scrap)
    status: Status = "ok"
    if pbt == 0:
        status = "no_planned_time"
    elif ideal_cycle_s is None:
        status = "no_ideal_cycle_time"
    elif produced == 0 and run > 0:
        status = "no_production"  # ran but counted nothing: a frozen counter or no counter
    oee = None
    if availability is not None and performance is not None and quality is not None:
        oee = availability * performance * quality
    elif availability == 0.0 and ideal_cycle_s is not None:
        oee = 0.0  # planned time but no run at all: nothing to qualify
    planned = pbt + ms["unknown"] / 1000
    return Oee(
        status=status,
        pbt_s=pbt,
        apt_s=run,
        down_s=down,
        idle_s=idle,
        planned_stop_s=ms["planned_stop"] / 1000,
        maintenance_s=ms["maintenance"] / 1000,
        unknown_s=ms["unknown"] / 1000,
        coverage=_ratio(pbt, planned),
        produced=produced,
        rejects=scrap,
        good=good,
        availability=availability,
        performance=performance,
        quality=quality,
        oee=oee,
        failures=failures,
        mtbf_s=run / failures if failures else None,
        mttr_s=down / failures if failures else None,
        health=health_index(run, failures),
        losses_s=losses,
        without_ideal_cycle=0 if ideal_cycle_s is not None else 1,
    )


def _restarts(segments: Sequence[Segment]) -> list[int]:
    """Start times of runs that follow a stop (down, planned stop, maintenance, no data)."""
    out: list[int] = []
    for prev, seg in itertools.pairwise(segments):
        if seg.state == "run" and prev.state in ("down", "planned_stop", "maintenance", "unknown"):
            out.append(seg.start_ms)
    return out


def combine(parts: Sequence[Oee]) -> Oee:
    """Figures of a line (or a shift of several machines): times and quantities add; the
    ratios (availability, effectiveness, quality, OEE) are over the machines that have an
    ideal cycle time, so one without it never dilutes or inflates the line's OEE;
    ``without_ideal_cycle`` says how many were left out of them."""
    if not parts:
        raise ValueError("combine needs at least one machine")
    with_ideal = [p for p in parts if p.without_ideal_cycle == 0]
    basis = with_ideal or list(parts)  # the ratios: over the machines that have all three
    pbt = sum(p.pbt_s for p in parts)
    run = sum(p.apt_s for p in parts)
    produced = sum(p.produced for p in parts)
    good = sum(p.good for p in parts)
    ideal_time = sum((p.performance or 0.0) * p.apt_s for p in with_ideal)
    run_ideal = sum(p.apt_s for p in with_ideal)
    availability = _ratio(sum(p.apt_s for p in basis), sum(p.pbt_s for p in basis))
    performance = _ratio(ideal_time, run_ideal) if with_ideal else None
    quality = _ratio(sum(p.good for p in basis), sum(p.produced for p in basis))
    failures = sum(p.failures for p in parts)
    down = sum(p.down_s for p in parts)
    unknown = sum(p.unknown_s for p in parts)
    losses: dict[str, float | None] = {}
    for name in LOSSES:
        values = [p.losses_s.get(name) for p in parts]
        known = [v for v in values if v is not None]
        losses[name] = sum(known) if known else None
    missing = sum(p.without_ideal_cycle for p in parts)
    status: Status = "ok"
    if pbt == 0:
        status = "no_planned_time"
    elif performance is None:
        status = "no_ideal_cycle_time"
    oee = None
    if availability is not None and performance is not None and quality is not None:
        oee = availability * performance * quality
    elif availability == 0.0 and with_ideal:
        oee = 0.0
    return Oee(
        status=status,
        pbt_s=pbt,
        apt_s=run,
        down_s=down,
        idle_s=sum(p.idle_s for p in parts),
        planned_stop_s=sum(p.planned_stop_s for p in parts),
        maintenance_s=sum(p.maintenance_s for p in parts),
        unknown_s=unknown,
        coverage=_ratio(pbt, pbt + unknown),
        produced=produced,
        rejects=produced - good,
        good=good,
        availability=availability,
        performance=performance,
        quality=quality,
        oee=oee,
        failures=failures,
        mtbf_s=run / failures if failures else None,
        mttr_s=down / failures if failures else None,
        health=health_index(run, failures),
        losses_s=losses,
        machines=sum(p.machines for p in parts),
        without_ideal_cycle=missing,
    )
