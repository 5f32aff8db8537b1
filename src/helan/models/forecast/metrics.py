"""Forecast errors. MAPE skips intervals whose actual load is 0 (a ratio to nothing); WAPE
(total absolute error over total load) is given too because MAPE weighs the plant's idle
nights, where a small error is a large percentage, as much as its working hours."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Floats = npt.ArrayLike


def _pair(predicted: Floats, actual: Floats) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(predicted, dtype=np.float64).ravel()
    a = np.asarray(actual, dtype=np.float64).ravel()
    ok = np.isfinite(p) & np.isfinite(a)
    return p[ok], a[ok]


def mae(predicted: Floats, actual: Floats) -> float:
    p, a = _pair(predicted, actual)
    return float(np.mean(np.abs(p - a)))


def mape(predicted: Floats, actual: Floats) -> float:
    """Mean absolute percentage error in %, over intervals with a positive actual."""
    p, a = _pair(predicted, actual)
    pos = a > 0
    return float(np.mean(np.abs(p[pos] - a[pos]) / a[pos]) * 100.0)


def wape(predicted: Floats, actual: Floats) -> float:
    """Total absolute error over total actual load, in %."""
    p, a = _pair(predicted, actual)
    return float(np.sum(np.abs(p - a)) / np.sum(np.abs(a)) * 100.0)
