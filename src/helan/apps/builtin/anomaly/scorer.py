"""The live pump scorer: the SKAB detector (:mod:`helan.models.anomaly.detector`) run on each
device's committed data, vectorised over the Arrow batch.

Per device it keeps the last value of each signal and updates the smoothed T² with every batch
(one row per device per batch), against the baseline the offline model fits (standardisation,
shrunk covariance, threshold 1.5 x the 99th percentile of the smoothed training T²): a fleet
baseline fitted on normal data of the same pump type, or, without one, the device's own first
:data:`WARMUP` rows (SKAB's protocol; too short a start for a pump that drifts for hours).
State is a few arrays indexed by device slot, so one batch of 10,000 pumps costs a handful of
NumPy calls;
the only per-device Python work is the slot lookup and, once per device, the fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from helan.models.anomaly import detector

# The pump station's thing model, in SKAB's column order (helan.sim.metrics.PUMP).
SIGNALS = (
    "vibration_1",
    "vibration_2",
    "current",
    "pressure",
    "motor_temperature",
    "fluid_temperature",
    "voltage",
    "flow_rate",
)
WARMUP = 60  # rows (seconds at 1 Hz) of each pump's start taken as its normal baseline

Array = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Scored:
    """The devices a batch scored: their smoothed T², threshold and flag, at ``ts`` (ms)."""

    slots: npt.NDArray[np.int64]
    tenants: list[str]
    devices: list[str]
    ts: npt.NDArray[np.int64]
    score: Array
    threshold: Array

    @property
    def flag(self) -> npt.NDArray[np.bool_]:
        return self.score > self.threshold


@dataclass
class PumpScorer:
    """Scores pumps against a ``fleet`` baseline (one for every pump) or, without one, each
    against its own first ``warmup`` rows."""

    warmup: int = WARMUP
    fleet: detector.Baseline | None = None
    signals: tuple[str, ...] = SIGNALS  # metric names, in the baseline's column order
    slots: dict[tuple[str, str], int] = field(default_factory=dict)
    buffer: dict[int, list[Array]] = field(default_factory=dict)
    baselines: dict[int, detector.Baseline] = field(default_factory=dict)

    def __post_init__(self) -> None:
        k = len(self.signals)
        if self.fleet is not None and self.fleet.mean.shape != (k,):
            raise ValueError(f"the fleet baseline has {self.fleet.mean.size} signals, not {k}")
        self._names = pa.array(self.signals)
        self.last: Array = np.full((0, k), np.nan)
        self.rows: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self.mean: Array = np.zeros((0, k))
        self.scale: Array = np.ones((0, k))
        self.precision: Array = np.zeros((0, k, k))
        self.threshold: Array = np.full(0, np.inf)
        self.smoothed: Array = np.full(0, np.nan)

    def _grow(self, n: int) -> None:
        k = len(self.signals)
        extra = n - len(self.rows)
        if extra <= 0:
            return
        self.last = np.vstack([self.last, np.full((extra, k), np.nan)])
        self.rows = np.concatenate([self.rows, np.zeros(extra, dtype=np.int64)])
        self.mean = np.vstack([self.mean, np.zeros((extra, k))])
        self.scale = np.vstack([self.scale, np.ones((extra, k))])
        self.precision = np.concatenate([self.precision, np.zeros((extra, k, k))])
        self.threshold = np.concatenate([self.threshold, np.full(extra, np.inf)])
        self.smoothed = np.concatenate([self.smoothed, np.full(extra, np.nan)])
        if self.fleet is not None:
            self.mean[-extra:] = self.fleet.mean
            self.scale[-extra:] = self.fleet.scale
            self.precision[-extra:] = self.fleet.precision
            self.threshold[-extra:] = self.fleet.threshold

    def _slot(self, tenant: str, device: str) -> int:
        key = (tenant, device)
        slot = self.slots.get(key)
        if slot is None:
            slot = self.slots[key] = len(self.slots)
        return slot

    def baseline(self, tenant: str, device: str) -> detector.Baseline | None:
        slot = self.slots.get((tenant, device))
        if slot is None:
            return None
        return self.fleet or self.baselines.get(slot)

    def update(self, points: pa.Table) -> Scored | None:
        """Score the pumps in ``points`` (POINT_SCHEMA); None when none was ready to score."""
        mine = points.filter(pc.is_in(points["metric"], value_set=self._names))
        mine = mine.filter(pc.is_valid(mine["value"]))
        if mine.num_rows == 0:
            return None
        grouped = mine.group_by(["tenant", "device", "metric"]).aggregate(
            [("value", "mean"), ("ts", "max")]
        )
        tenants = grouped["tenant"].to_pylist()
        devices = grouped["device"].to_pylist()
        keys = list(zip(tenants, devices, strict=True))
        slot_of = {key: self._slot(*key) for key in dict.fromkeys(keys)}
        self._grow(len(self.slots))
        row_slots = np.fromiter((slot_of[k] for k in keys), dtype=np.int64, count=len(keys))
        column = pc.index_in(grouped["metric"], value_set=self._names).to_numpy()
        self.last[row_slots, column] = grouped["value_mean"].to_numpy()
        ts_of = np.zeros(len(self.rows), dtype=np.int64)
        np.maximum.at(ts_of, row_slots, grouped["ts_max"].to_numpy())
        touched = np.fromiter(slot_of.values(), dtype=np.int64, count=len(slot_of))
        complete = touched[~np.isnan(self.last[touched]).any(axis=1)]
        self.rows[complete] += 1
        ready = complete[np.isfinite(self.threshold[complete])]
        self._learn(complete[~np.isfinite(self.threshold[complete])])
        if ready.size == 0:
            return None
        z = (self.last[ready] - self.mean[ready]) / self.scale[ready]
        t2 = np.maximum(np.einsum("ij,ijk,ik->i", z, self.precision[ready], z), 0.0)
        previous = self.smoothed[ready]
        alpha = detector.ALPHA
        self.smoothed[ready] = np.where(
            np.isnan(previous), t2, alpha * t2 + (1.0 - alpha) * previous
        )
        names = {slot: key for key, slot in slot_of.items()}
        return Scored(
            slots=ready,
            tenants=[names[int(s)][0] for s in ready],
            devices=[names[int(s)][1] for s in ready],
            ts=ts_of[ready],
            score=self.smoothed[ready].copy(),
            threshold=self.threshold[ready].copy(),
        )

    def _learn(self, slots: npt.NDArray[np.int64]) -> None:
        """Buffer rows of devices still warming up; fit those that have enough."""
        for slot in slots.tolist():
            rows = self.buffer.setdefault(slot, [])
            rows.append(self.last[slot].copy())
            if len(rows) < self.warmup:
                continue
            train = np.vstack(rows)
            del self.buffer[slot]
            fitted = detector.fit(train)
            self.baselines[slot] = fitted
            self.mean[slot] = fitted.mean
            self.scale[slot] = fitted.scale
            self.precision[slot] = fitted.precision
            self.threshold[slot] = fitted.threshold
            self.smoothed[slot] = float(fitted.score(train)[-1])
