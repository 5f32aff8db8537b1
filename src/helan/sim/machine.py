"""CNC machines and stamping presses: a run/idle/down state machine with part and reject counters.

Dwell times are exponential around plant-like means (runs of ~25 min, short idles for material
and tool changes, breakdowns of ~12 min); parts complete only while running, each cycle's time
varies a few percent around the machine's nominal cycle, and a small share of parts are rejects.
Counters start at zero when the simulator starts, as a PLC's do after a power cycle.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from helan.sim.metrics import CNC, PRESS, KindDef, SimEvent, Value

State = Literal["run", "idle", "down"]
MEAN_DWELL_S: dict[State, float] = {"run": 1500.0, "idle": 240.0, "down": 720.0}
MIN_DWELL_S = 20.0
# Next state on leaving a state: (state, probability) pairs.
TRANSITIONS: dict[State, tuple[tuple[State, float], ...]] = {
    "run": (("idle", 0.88), ("down", 0.12)),
    "idle": (("run", 0.95), ("down", 0.05)),
    "down": (("idle", 1.0),),
}
# What a breakdown's cause reads, per kind (the `cause` output of the `breakdown` event).
CAUSES: dict[str, tuple[str, ...]] = {
    "cnc": ("tool_breakage", "spindle_overload", "coolant_low", "axis_servo_alarm"),
    "press": ("die_jam", "hydraulic_pressure_low", "feeder_misfeed", "overload"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class MachineParams:
    nominal_cycle_s: float
    reject_rate: float
    nominal_level: float  # spindle rpm (CNC) or peak press force kN (press)


def random_params(kind: KindDef, rng: random.Random) -> MachineParams:
    if kind is CNC:
        return MachineParams(
            nominal_cycle_s=rng.uniform(40.0, 180.0),
            reject_rate=rng.uniform(0.005, 0.03),
            nominal_level=float(rng.choice((6000, 8000, 10000, 12000))),
        )
    return MachineParams(
        nominal_cycle_s=rng.uniform(2.5, 6.0),
        reject_rate=rng.uniform(0.002, 0.012),
        nominal_level=float(rng.choice((800, 1250, 1600, 2500))),
    )


class MachineModel:
    def __init__(self, *, kind: KindDef, params: MachineParams, rng: random.Random) -> None:
        if kind not in (CNC, PRESS):
            raise ValueError(f"a machine is a CNC or a press, not {kind.kind}")
        self.kind = kind
        self.params = params
        self._rng = rng
        self.state: State = rng.choices(("run", "idle", "down"), weights=(0.75, 0.15, 0.10))[0]
        self._dwell_left = self._dwell(self.state) * rng.random()
        self._cycle = self._next_cycle()
        self._progress = rng.random() * self._cycle
        self.last_cycle_s = params.nominal_cycle_s
        self.parts = 0
        self.rejects = 0
        self.transitions = 0
        self._last_t: float | None = None
        self._events: list[SimEvent] = []

    def _dwell(self, state: State) -> float:
        return MIN_DWELL_S + self._rng.expovariate(1.0 / MEAN_DWELL_S[state])

    def _next_cycle(self) -> float:
        return self.params.nominal_cycle_s * self._rng.lognormvariate(0.0, 0.03)

    def _leave(self, at: float) -> None:
        old = self.state
        targets, weights = zip(*TRANSITIONS[old], strict=True)
        self.state = self._rng.choices(targets, weights=weights)[0]
        self._dwell_left = self._dwell(self.state)
        self.transitions += 1
        ts = int(at * 1000)
        self._events.append((ts, "state_changed", {"from": old, "to": self.state}))
        if self.state == "down":
            cause = self._rng.choice(CAUSES[self.kind.kind])
            self._events.append((ts, "breakdown", {"cause": cause}))

    def break_down(self, at: float) -> None:
        """A breakdown now (a scheduled fault), whatever the machine was doing; it is repaired
        after a usual breakdown's dwell."""
        if self._last_t is not None:
            self.advance(at - self._last_t, self._last_t)
            self._last_t = at
        if self.state == "down":
            return
        old, self.state = self.state, "down"
        self._dwell_left = self._dwell("down")
        self.transitions += 1
        ts = int(at * 1000)
        self._events.append((ts, "state_changed", {"from": old, "to": "down"}))
        self._events.append((ts, "breakdown", {"cause": self._rng.choice(CAUSES[self.kind.kind])}))

    def take_events(self) -> list[SimEvent]:
        events, self._events = self._events, []
        return events

    def advance(self, dt: float, start: float = 0.0) -> None:
        """Let ``dt`` seconds pass from epoch second ``start``: state changes (raising their
        events at the instant they happen) and finished cycles, in order."""
        at = start
        while dt > 0:
            step = min(dt, self._dwell_left)
            if self.state == "run":
                self._progress += step
                while self._progress >= self._cycle:
                    self._progress -= self._cycle
                    self.last_cycle_s = self._cycle
                    self.parts += 1
                    if self._rng.random() < self.params.reject_rate:
                        self.rejects += 1
                    self._cycle = self._next_cycle()
            self._dwell_left -= step
            dt -= step
            at += step
            if self._dwell_left <= 0:
                self._leave(at)

    def sample(self, t: float) -> dict[str, Value]:
        if self._last_t is not None:
            self.advance(t - self._last_t, self._last_t)
        self._last_t = t
        running = self.state == "run"
        level = self.params.nominal_level
        values: dict[str, Value] = {
            "state": self.state,
            "part_count": self.parts,
            "reject_count": self.rejects,
            "cycle_time": self.last_cycle_s,
        }
        if self.kind is CNC:
            values["spindle_speed"] = level * self._rng.gauss(1.0, 0.002) if running else 0.0
            values["spindle_load"] = self._rng.gauss(55.0, 6.0) if running else 0.0
        else:
            values["press_force"] = level * self._rng.gauss(0.92, 0.02) if running else 0.0
            values["stroke_rate"] = 60.0 / self.last_cycle_s if running else 0.0
        return values
