"""The SKAB detector: per-run standardisation from the run's own anomaly-free start, a
shrunk (Ledoit-Wolf) squared Mahalanobis distance (T²), exponential smoothing, and a threshold
set on the training rows only.

Why this model: SKAB's anomalies are collective (a closed valve, a leak, cavitation) and shift
several correlated signals at once; the Mahalanobis distance sees a shift off the signals'
joint normal band that no single signal leaves. Standardising each run from its own start
makes the model carry over to a run (or a pump) with other absolute levels, which is what the
held-out runs and the live pumps are. The threshold is SKAB's own Conv-AE rule (1.5 x the
99th percentile of the training scores), not tuned on the labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.signal import lfilter
from sklearn.covariance import LedoitWolf

from helan.core.errors import ValidationFailed

Array = npt.NDArray[np.float64]

TRAIN_ROWS = 400  # SKAB's leaderboard notebooks train on each run's first 400 s
ALPHA = 0.05  # smoothing: about a 20 s memory at 1 Hz
QUANTILE = 0.99
FACTOR = 1.5
_MIN_SCALE = 1e-6


def smooth(scores: Array, alpha: float = ALPHA, start: float | None = None) -> Array:
    """Exponential smoothing ``y[n] = a x[n] + (1 - a) y[n-1]``, from ``start`` (or x[0])."""
    if scores.size == 0:
        return scores
    y0 = scores[0] if start is None else start
    out, _ = lfilter([alpha], [1.0, alpha - 1.0], scores, zi=[(1.0 - alpha) * y0])
    return np.asarray(out, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Baseline:
    """What the detector learnt from one run's (or one device's) normal rows."""

    mean: Array
    scale: Array
    precision: Array
    threshold: float
    alpha: float = ALPHA

    def distance(self, signals: Array) -> Array:
        """Unsmoothed squared Mahalanobis distance (Hotelling's T²) of each row (rows x
        signals); squared, so one far-off row weighs more in the smoothed score."""
        z = (signals - self.mean) / self.scale
        t2: Array = np.maximum(np.einsum("ij,jk,ik->i", z, self.precision, z), 0.0)
        return t2

    def score(self, signals: Array) -> Array:
        return smooth(self.distance(signals), self.alpha)


def fit(
    train: Array,
    *,
    alpha: float = ALPHA,
    quantile: float = QUANTILE,
    factor: float = FACTOR,
) -> Baseline:
    """Learn a baseline from normal rows only (rows x signals)."""
    if train.ndim != 2 or train.shape[0] < 2 * train.shape[1] + 2:
        raise ValidationFailed(
            f"training needs at least {2 * train.shape[-1] + 2} rows of normal data, "
            f"got {train.shape[0] if train.ndim == 2 else 0}"
        )
    mean = train.mean(axis=0)
    scale = train.std(axis=0)
    scale = np.where(scale < _MIN_SCALE, 1.0, scale)
    z = (train - mean) / scale
    precision = LedoitWolf().fit(z).precision_
    partial = Baseline(mean, scale, precision, threshold=np.inf, alpha=alpha)
    trained = partial.score(train)
    threshold = float(np.quantile(trained, quantile) * factor)
    return Baseline(mean, scale, precision, threshold=threshold, alpha=alpha)


def detect(
    signals: Array, train_rows: int = TRAIN_ROWS
) -> tuple[Array, npt.NDArray[np.bool_], Baseline]:
    """Fit on the run's first ``train_rows`` rows and score the whole run."""
    baseline = fit(signals[:train_rows])
    scores = baseline.score(signals)
    return scores, scores > baseline.threshold, baseline
