"""Features of a day-ahead forecast: what is known at the issue time ``p`` (a slot index; all
slots before it are history) about each of the next 96 slots.

Everything is a lag of at least one day or a statistic of the history before ``p``, so the same
features describe the evaluation's forecast (issued at midnight for the coming day) and the live
app's (issued now for the next 24 hours). Loads are divided by the level (mean of the 7 days
before ``p``) and the model predicts the ratio, so one model serves meters of any size.
"""

from __future__ import annotations

import warnings
from datetime import datetime

import numpy as np

from helan.models.forecast.data import SLOTS_PER_DAY, Floats

WEEK = 7 * SLOTS_PER_DAY
NAMES = (
    "slot",
    "weekday",
    "weekend",
    "day1",
    "day1_smooth",
    "day2",
    "week1",
    "week1_smooth",
    "week2",
    "week3",
    "week4",
    "weeks_mean",
    "weeks_median",
    "day1_mean",
    "week1_day_mean",
    "last_hour",
)


def _at(y: Floats, idx: np.ndarray, first: np.ndarray, before: np.ndarray) -> Floats:
    """``y[idx]`` where ``first <= idx < before`` (known history only), else NaN."""
    ok = (idx >= np.maximum(first, 0)) & (idx < before) & (idx < len(y))
    out = np.full(idx.shape, np.nan)
    out[ok] = y[idx[ok]]
    return out


def _window_mean(y: Floats, lo: np.ndarray, hi: np.ndarray) -> Floats:
    """NaN-ignoring mean of ``y[lo:hi]`` per row (empty or all-NaN windows give NaN)."""
    filled = np.nan_to_num(y, nan=0.0)
    counts = np.concatenate([[0], np.cumsum(~np.isnan(y))])
    sums = np.concatenate([[0.0], np.cumsum(filled)])
    lo = np.clip(lo, 0, len(y))
    hi = np.clip(hi, lo, len(y))
    n = counts[hi] - counts[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (sums[hi] - sums[lo]) / np.maximum(n, 1), np.nan)


def design(
    y: Floats,
    start: datetime,
    issues: np.ndarray,
    *,
    history: np.ndarray | None = None,
    horizon: int = SLOTS_PER_DAY,
) -> tuple[Floats, Floats, np.ndarray]:
    """Rows for each issue time and each of the next ``horizon`` slots; ``history`` (slots per
    issue, default all) hides what a young meter would not have.

    Returns ``(x, level, targets)``: features (rows x :data:`NAMES`), the level each row is
    scaled by (NaN where the history is empty), and each row's target slot index."""
    issues = np.asarray(issues, dtype=np.int64)
    p = np.repeat(issues, horizon)
    t = p + np.tile(np.arange(horizon), len(issues))
    first = np.zeros_like(p) if history is None else p - np.repeat(history, horizon)

    def mean(lo: np.ndarray, hi: np.ndarray) -> Floats:
        return _window_mean(y, np.maximum(lo, first), hi)

    level = mean(p - WEEK, p)
    scale = np.where(level > 0, level, np.nan)
    slot_of_start = start.hour * 4 + start.minute // 15
    absolute = t + slot_of_start
    weekday = (start.weekday() + absolute // SLOTS_PER_DAY) % 7

    def lag(k: int) -> Floats:
        return _at(y, t - k, first, p) / scale

    def smooth(k: int) -> Floats:
        lo = t - k - 2
        return mean(lo, np.minimum(t - k + 3, p)) / scale

    weeks = np.stack([lag(WEEK * w) for w in (1, 2, 3, 4)], axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all four weeks missing: NaN is right
        weeks_mean = np.nanmean(weeks, axis=1)
        weeks_median = np.nanmedian(weeks, axis=1)
    target_day = t - (absolute % SLOTS_PER_DAY)
    x = np.column_stack(
        [
            absolute % SLOTS_PER_DAY,
            weekday,
            weekday >= 5,
            lag(SLOTS_PER_DAY),
            smooth(SLOTS_PER_DAY),
            lag(2 * SLOTS_PER_DAY),
            weeks[:, 0],
            smooth(WEEK),
            weeks[:, 1],
            weeks[:, 2],
            weeks[:, 3],
            weeks_mean,
            weeks_median,
            mean(p - SLOTS_PER_DAY, p) / scale,
            mean(target_day - WEEK, np.minimum(target_day - WEEK + SLOTS_PER_DAY, p)) / scale,
            mean(p - 4, p) / scale,
        ]
    ).astype(np.float64)
    return x, level, t
