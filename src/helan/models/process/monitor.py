"""PCA monitoring with Hotelling's T² and the Q (squared prediction error) statistic, static or
dynamic (each row augmented with its ``lags`` predecessors, Ku, Storer & Georgakis 1995).

Thresholds come from normal training data only: the 99th percentile of out-of-fold statistics
(five contiguous blocks of the training data, each scored by a model fitted without it). Why
not the training statistics themselves: with 500 rows and 31 components the in-sample Q is
optimistic, and a limit set on it raised a 29 % false-alarm rate on d00_te.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.decomposition import PCA

Array = npt.NDArray[np.float64]
VARIANCE = 0.9
QUANTILE = 0.99


def lagged(x: Array, lags: int) -> Array:
    """Rows ``[x_t, x_{t-1}, ..., x_{t-lags}]`` for t = lags .. n-1."""
    if lags == 0:
        return x
    n = len(x)
    return np.hstack([x[lags - k : n - k] for k in range(lags + 1)])


@dataclass(frozen=True, slots=True)
class Monitor:
    lags: int
    mean: Array
    scale: Array
    pca: PCA
    t2_limit: float = np.inf
    q_limit: float = np.inf

    def statistics(self, x: Array) -> tuple[Array, Array]:
        """(T², Q) for rows ``lags`` .. n-1 of ``x``."""
        z = (lagged(x, self.lags) - self.mean) / self.scale
        scores = self.pca.transform(z)
        t2 = (scores**2 / self.pca.explained_variance_).sum(axis=1)
        q = ((z - self.pca.inverse_transform(scores)) ** 2).sum(axis=1)
        return np.asarray(t2, dtype=np.float64), np.asarray(q, dtype=np.float64)

    def alarms(self, x: Array) -> npt.NDArray[np.bool_]:
        """One flag per row of ``x``; the first ``lags`` rows, without history, are not flagged."""
        t2, q = self.statistics(x)
        flags = (t2 > self.t2_limit) | (q > self.q_limit)
        return np.concatenate([np.zeros(self.lags, dtype=bool), flags])


def _fit(x: Array, lags: int, variance: float) -> Monitor:
    a = lagged(x, lags)
    mean = a.mean(axis=0)
    scale = a.std(axis=0)
    scale = np.where(scale < 1e-9, 1.0, scale)
    pca = PCA(n_components=variance, svd_solver="full").fit((a - mean) / scale)
    return Monitor(lags, mean, scale, pca)


def _limits(monitor: Monitor, t2: Array, q: Array, quantile: float) -> Monitor:
    return Monitor(
        monitor.lags,
        monitor.mean,
        monitor.scale,
        monitor.pca,
        float(np.quantile(t2, quantile)),
        float(np.quantile(q, quantile)),
    )


def fit(
    train: Array,
    lags: int = 2,
    variance: float = VARIANCE,
    quantile: float = QUANTILE,
    folds: int = 5,
) -> Monitor:
    """(Dynamic) PCA with limits from out-of-fold statistics of the training data; ``lags=0``
    is the static PCA baseline."""
    n = len(train)
    edges = np.linspace(0, n, folds + 1).astype(int)
    t2s, qs = [], []
    for lo, hi in itertools.pairwise(edges):
        outside = np.r_[0 : max(lo - lags, 0), min(hi + lags, n) : n]
        held = _fit(train[outside], lags, variance)
        t2, q = held.statistics(train[lo:hi])
        t2s.append(t2)
        qs.append(q)
    return _limits(_fit(train, lags, variance), np.concatenate(t2s), np.concatenate(qs), quantile)
