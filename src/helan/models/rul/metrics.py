"""The C-MAPSS protocol's two measures, on the last cycle of each test unit."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Floats = npt.ArrayLike


def rmse(predicted: Floats, true: Floats) -> float:
    d = np.asarray(predicted, dtype=np.float64) - np.asarray(true, dtype=np.float64)
    return float(np.sqrt(np.mean(d * d)))


def phm08_score(predicted: Floats, true: Floats) -> float:
    """PHM08 challenge score (Saxena et al. 2008): sum of exp(-d/13)-1 for early predictions
    (d < 0) and exp(d/10)-1 for late ones, d = predicted - true. Late is punished harder,
    because a late maintenance call is a failure in service."""
    d = np.asarray(predicted, dtype=np.float64) - np.asarray(true, dtype=np.float64)
    return float(np.sum(np.where(d < 0, np.exp(-d / 13.0) - 1.0, np.exp(d / 10.0) - 1.0)))
