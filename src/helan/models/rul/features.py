"""Per-condition normalisation and windowed features.

Why per condition: in FD002/FD004 the six operating conditions (altitude, Mach, throttle) move
every sensor far more than wear does. The three settings are clustered (k-means, k picked by how
much of the settings' spread the clusters explain, so FD001/FD003 come out as one condition) and
each sensor is z-scored with its own condition's training mean and spread. Wear then shows as a
drift that is comparable across conditions and across subsets the model was not built on.

Why windows: single cycles are noisy; the state of an engine is in the recent level and trend.
Each sensor gives an exponentially weighted mean, short and long rolling means, a rolling
least-squares slope and the change since the unit's own first cycles (engines start with
different wear), all from the unit's past only, so a test unit cut at any cycle is described
exactly as a training unit at that cycle.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
from sklearn.cluster import KMeans

from helan.models.rul.data import SENSORS, SETTINGS, Floats, Ints, Runs

MAX_CONDITIONS = 8
SAMPLE = 2000
EXPLAINED = 0.999  # clusters must explain this share of the settings' variance
SHORT, LONG, BASELINE = 5, 20, 15
EWM_ALPHA = 0.2


@dataclass
class ConditionNormaliser:
    """Fitted on training runs: condition clusters and per-condition sensor statistics."""

    seed: int = 0
    scale: Floats = field(default_factory=lambda: np.ones(len(SETTINGS)))
    centre: Floats = field(default_factory=lambda: np.zeros(len(SETTINGS)))
    kmeans: KMeans | None = None
    mean: Floats = field(default_factory=lambda: np.zeros((1, len(SENSORS))))
    std: Floats = field(default_factory=lambda: np.ones((1, len(SENSORS))))
    sensors: list[str] = field(default_factory=list)

    @property
    def conditions(self) -> int:
        return 1 if self.kmeans is None else int(self.kmeans.n_clusters)

    def fit(self, runs: Runs) -> ConditionNormaliser:
        settings = runs.settings
        self.centre = settings.mean(axis=0)
        spread = settings.std(axis=0)
        self.scale = np.where(spread > 1e-12, spread, 1.0)
        x = (settings - self.centre) / self.scale
        # Conditions are few and far apart: a seeded sample of rows finds them as well as all.
        rng = np.random.default_rng(self.seed)
        x = x[rng.permutation(len(x))[:SAMPLE]]
        total = float(((x - x.mean(axis=0)) ** 2).sum())
        self.kmeans = None
        for k in range(2, MAX_CONDITIONS + 1):
            km = KMeans(n_clusters=k, n_init=2, random_state=self.seed).fit(x)
            if total > 0 and 1.0 - km.inertia_ / total >= EXPLAINED:
                self.kmeans = km
                break
        labels = self.condition(runs)
        values = runs.sensors
        self.mean = np.stack([values[labels == c].mean(axis=0) for c in range(self.conditions)])
        std = np.stack([values[labels == c].std(axis=0) for c in range(self.conditions)])
        self.std = np.where(std > 1e-9, std, np.inf)  # constant within a condition: no signal
        # Keep sensors that vary within every condition, with more than two distinct levels
        # in some condition (two levels are a rounding flicker, not wear).
        levels = [
            max(len(np.unique(values[labels == c, j])) for c in range(self.conditions))
            for j in range(len(SENSORS))
        ]
        self.sensors = [
            s for j, s in enumerate(SENSORS) if np.isfinite(self.std[:, j]).all() and levels[j] > 2
        ]
        return self

    def condition(self, runs: Runs) -> Ints:
        if self.kmeans is None:
            return np.zeros(len(runs), dtype=np.int64)
        x = (runs.settings - self.centre) / self.scale
        return np.asarray(self.kmeans.predict(x), dtype=np.int64)

    def transform(self, runs: Runs) -> Floats:
        """The kept sensors, z-scored with their own condition's statistics (rows x sensors)."""
        labels = self.condition(runs)
        idx = [SENSORS.index(s) for s in self.sensors]
        values = runs.sensors[:, idx]
        return np.asarray((values - self.mean[labels][:, idx]) / self.std[labels][:, idx])


def _rolling_sum(a: Floats, w: int) -> Floats:
    c = np.cumsum(np.vstack([np.zeros((1, a.shape[1])), a]), axis=0)
    start = np.maximum(np.arange(1, len(a) + 1) - w, 0)
    return np.asarray(c[1:] - c[start])


def _unit_features(z: Floats) -> Floats:
    """Windowed features of one unit's normalised sensors (rows = cycles, past only)."""
    n = len(z)
    t = np.arange(1, n + 1, dtype=np.float64)[:, None]
    count_s = np.minimum(t, SHORT)
    count_l = np.minimum(t, LONG)
    mean_s = _rolling_sum(z, SHORT) / count_s
    mean_l = _rolling_sum(z, LONG) / count_l
    sx = _rolling_sum(np.broadcast_to(t, z.shape).copy(), LONG)
    sxx = _rolling_sum(np.broadcast_to(t * t, z.shape).copy(), LONG)
    sxy = _rolling_sum(z * t, LONG)
    sy = _rolling_sum(z, LONG)
    denom = count_l * sxx - sx * sx
    slope = np.where(denom > 0, (count_l * sxy - sx * sy) / np.where(denom > 0, denom, 1), 0.0)
    ewm = np.empty_like(z)
    ewm[0] = z[0]
    for i in range(1, n):
        ewm[i] = EWM_ALPHA * z[i] + (1 - EWM_ALPHA) * ewm[i - 1]
    first = np.cumsum(z, axis=0) / t
    baseline = np.where(t <= BASELINE, first, first[min(BASELINE, n) - 1])
    return np.hstack([t, ewm, mean_s, mean_l, slope, mean_l - baseline])


def unit_blocks(unit: Ints) -> list[slice]:
    """Row ranges of each unit (rows of one unit are together, as the reader checks)."""
    edges = np.flatnonzero(np.concatenate([[True], unit[1:] != unit[:-1], [True]]))
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(edges)]


def windowed(runs: Runs, z: Floats) -> Floats:
    """One feature row per row of ``runs`` (same order), from each unit's cycles up to it."""
    return np.vstack([_unit_features(z[block]) for block in unit_blocks(runs.unit)])


def capped_rul(runs: Runs, cap: float) -> Floats:
    """Piecewise-linear target: cycles to the unit's last (failure) cycle, capped at ``cap``."""
    last = np.empty(len(runs), dtype=np.float64)
    for block in unit_blocks(runs.unit):
        last[block] = runs.cycle[block][-1]
    return np.minimum(last - runs.cycle, cap)


def last_cycles(runs: Runs) -> Ints:
    """Positions of each unit's last row, in unit order (the protocol scores only these)."""
    blocks = unit_blocks(runs.unit)
    order = np.argsort([runs.unit[b.start] for b in blocks], kind="stable")
    return np.asarray([blocks[i].stop - 1 for i in order], dtype=np.int64)
