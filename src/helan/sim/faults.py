"""Faults the simulator can inject: bad signals (value faults) and bad connections.

Value faults change what a device reports while active; connection faults take devices off the
broker. Every fault is scheduled in seconds from the start of the run.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from helan.sim.data import SKAB_ANOMALIES, SKAB_COLUMNS, skab
from helan.sim.metrics import KIND_DEFS, PUMP_COLUMNS, Kind, Value

_ADDITIVE = {"Pressure"}  # near zero and signed: a ratio would be meaningless


@dataclass(frozen=True, slots=True)
class _Segment:
    """A SKAB anomaly as change against the file's own pre-anomaly mean, row by row."""

    rows: list[list[float]]  # per row, per pump metric: ratio (or difference, for pressure)


@cache
def _segment(recording: str) -> _Segment:
    rec = skab(recording)
    labelled = np.flatnonzero(rec.anomaly)
    first, last = int(labelled[0]), int(labelled[-1])
    base = rec.values[:first][~rec.anomaly[:first]].mean(axis=0)
    seg = rec.values[first : last + 1]
    change = np.empty_like(seg)
    for c, column in enumerate(SKAB_COLUMNS):
        change[:, c] = seg[:, c] - base[c] if column in _ADDITIVE else seg[:, c] / base[c]
    return _Segment(rows=change.tolist())


@dataclass(kw_only=True)
class SkabAnomaly:
    """Replay a labelled SKAB anomaly on a pump, scaled to the pump's current operating point.

    Each metric is multiplied by the recorded ratio to the experiment's own normal mean (pressure:
    shifted by the recorded difference), so the anomaly keeps its recorded shape and size.
    """

    device: str
    recording: str  # a key of helan.sim.data.SKAB_ANOMALIES
    start_s: float

    @property
    def duration_s(self) -> float:
        return float(len(_segment(self.recording).rows))

    def apply(self, values: dict[str, Value], elapsed_s: float) -> dict[str, Value]:
        row = _segment(self.recording).rows[int(elapsed_s)]
        out = dict(values)
        for c, (column, metric) in enumerate(zip(SKAB_COLUMNS, PUMP_COLUMNS, strict=True)):
            v = out.get(metric)
            if isinstance(v, float):
                out[metric] = v + row[c] if column in _ADDITIVE else v * row[c]
        return out


@dataclass(kw_only=True)
class StuckSensor:
    """The metric repeats the value it had when the fault began."""

    device: str
    metric: str
    start_s: float
    duration_s: float
    _held: Value | None = field(default=None, repr=False)

    def apply(self, values: dict[str, Value], elapsed_s: float) -> dict[str, Value]:
        if self.metric not in values:
            return values
        if self._held is None:
            self._held = values[self.metric]
        return {**values, self.metric: self._held}


@dataclass(kw_only=True)
class Spikes:
    """Now and then the metric reads ``factor`` times its true value (an EMI hit, a loose wire)."""

    device: str
    metric: str
    start_s: float
    duration_s: float
    probability: float = 0.2
    factor: float = 5.0
    seed: int = 0
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def apply(self, values: dict[str, Value], elapsed_s: float) -> dict[str, Value]:
        v = values.get(self.metric)
        if isinstance(v, float) and self._rng.random() < self.probability:
            return {**values, self.metric: v * self.factor if v else self.factor}
        return values


@dataclass(frozen=True, kw_only=True)
class Outage:
    """The device goes silent; with ``disconnect`` it also drops its connection, then comes back."""

    device: str
    start_s: float
    duration_s: float
    disconnect: bool = True


@dataclass(frozen=True, kw_only=True)
class Breakdown:
    """A CNC or press breaks down at ``start_s`` (its ``breakdown`` event is raised then)."""

    device: str
    start_s: float


@dataclass(frozen=True, kw_only=True)
class ReconnectStorm:
    """Every device drops its connection at once and reconnects at once (a broker failover)."""

    start_s: float


ValueFault = SkabAnomaly | StuckSensor | Spikes
Fault = ValueFault | Outage | ReconnectStorm | Breakdown


def random_faults(
    devices: Sequence[tuple[str, Kind]], *, every_s: float, horizon_s: float, seed: int
) -> list[Fault]:
    """A fault on a random device every ``every_s`` seconds up to ``horizon_s``.

    ``devices`` are ``(device_id, kind)`` pairs; pumps get SKAB anomalies among their faults.
    """
    rng = random.Random(seed)
    faults: list[Fault] = []
    t = every_s
    while t < horizon_s and devices:
        device, kind = rng.choice(devices)
        numeric = [m.name for m in KIND_DEFS[kind].metrics if m.type == "float"]
        choice = rng.choice(
            ("skab", "stuck", "spikes", "outage")
            if kind == "pump"
            else ("stuck", "spikes", "outage")
        )
        if choice == "skab":
            faults.append(
                SkabAnomaly(device=device, recording=rng.choice(list(SKAB_ANOMALIES)), start_s=t)
            )
        elif choice == "stuck":
            faults.append(
                StuckSensor(device=device, metric=rng.choice(numeric), start_s=t, duration_s=300)
            )
        elif choice == "spikes":
            faults.append(
                Spikes(
                    device=device,
                    metric=rng.choice(numeric),
                    start_s=t,
                    duration_s=120,
                    seed=rng.randrange(1 << 30),
                )
            )
        else:
            faults.append(Outage(device=device, start_s=t, duration_s=rng.uniform(30, 180)))
        t += every_s
    return faults
