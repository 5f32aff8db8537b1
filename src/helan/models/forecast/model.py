"""The day-ahead model (LightGBM on the scaled lags of :mod:`features`) and its two baselines.

Rounds are chosen by early stopping on the last 28 days before the split (a validation period
inside the training data), then the model is refitted on all training days; the test period is
never seen while fitting. ``mask_share`` > 0 adds rows for a share of the training days as a
young meter would see them (only the last 4 hours to 7 days known), so a meter with hours of
history still gets a forecast, a rougher one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor

from helan.models.forecast.data import SLOTS_PER_DAY, Floats
from helan.models.forecast.features import WEEK, design

VALIDATION_DAYS = 28

DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "l1",
    "n_estimators": 2000,
    "learning_rate": 0.06,
    "num_leaves": 31,
    "min_child_samples": 30,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.7,
    "n_jobs": 2,
    "verbose": -1,
}


def day_starts(y: Floats, start: datetime, first: int, stop: int) -> np.ndarray:
    """Issue slots at each local midnight in ``[first, stop)`` whose whole day lies before stop."""
    offset = (-(start.hour * 4 + start.minute // 15)) % SLOTS_PER_DAY
    issues = np.arange(offset, len(y), SLOTS_PER_DAY)
    return issues[(issues >= first) & (issues + SLOTS_PER_DAY <= stop)]


def _rows(
    y: Floats, start: datetime, issues: np.ndarray, history: np.ndarray | None = None
) -> tuple[Floats, Floats]:
    x, level, t = design(y, start, issues, history=history)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = y[t] / level
    ok = np.isfinite(ratio) & (level > 0)
    return x[ok], ratio[ok]


# Histories a young meter has (slots): 4 hours, 1, 2 and 7 days.
YOUNG = np.array([16, SLOTS_PER_DAY, 2 * SLOTS_PER_DAY, WEEK])


def _young_rows(
    y: Floats, start: datetime, issues: np.ndarray, share: float, rng: np.random.Generator
) -> tuple[Floats, Floats]:
    """Rows for a random ``share`` of the issues as if the meter's history were short."""
    chosen = issues[rng.random(len(issues)) < share]
    return _rows(y, start, chosen, rng.choice(YOUNG, size=len(chosen)))


@dataclass
class ForecastModel:
    booster: lgb.LGBMRegressor
    info: dict[str, Any] = field(default_factory=dict)

    def predict(self, y: Floats, start: datetime, issues: np.ndarray) -> Floats:
        """Load of the 96 slots after each issue (rows = issues), in the units of ``y``."""
        x, level, _ = design(y, start, issues)
        out = np.asarray(self.booster.predict(x), dtype=np.float64) * level
        return np.clip(out, 0.0, None).reshape(len(issues), SLOTS_PER_DAY)


def fit(
    y: Floats,
    start: datetime,
    stop: int,
    *,
    seed: int = 0,
    mask_share: float = 0.0,
    params: dict[str, Any] | None = None,
) -> ForecastModel:
    """Train on the days that end before slot ``stop`` (the first week only feeds lags)."""
    chosen = {**DEFAULT_PARAMS, **(params or {}), "random_state": seed}
    issues = day_starts(y, start, WEEK, stop)
    if len(issues) < 2:
        raise ValueError("need at least 9 days of history before the split to train")
    n_val = min(VALIDATION_DAYS, len(issues) // 4)
    rng = np.random.default_rng(seed)
    x_all, r_all = _rows(y, start, issues)
    info: dict[str, Any] = {"train_days": len(issues), "validation_days": n_val}
    rounds = int(chosen["n_estimators"])
    if n_val:
        x_tr, r_tr = _rows(y, start, issues[:-n_val])
        x_va, r_va = _rows(y, start, issues[-n_val:])
        probe = lgb.LGBMRegressor(**chosen)
        probe.fit(
            x_tr,
            r_tr,
            eval_X=(x_va,),
            eval_y=(r_va,),
            callbacks=[lgb.early_stopping(100, verbose=False)],
        )
        rounds = max(50, int(probe.best_iteration_ or rounds))
    info["rounds"] = rounds
    if mask_share > 0:
        x_young, r_young = _young_rows(y, start, issues, mask_share, rng)
        x_all, r_all = np.vstack([x_all, x_young]), np.concatenate([r_all, r_young])
    booster = lgb.LGBMRegressor(**{**chosen, "n_estimators": rounds})
    booster.fit(x_all, r_all)
    return ForecastModel(booster=booster, info=info)


def seasonal_naive(y: Floats, issues: np.ndarray, lag: int) -> Floats:
    """The same slot ``lag`` slots earlier (a day: 96, a week: 672)."""
    t = np.repeat(issues, SLOTS_PER_DAY) + np.tile(np.arange(SLOTS_PER_DAY), len(issues))
    out = np.where(t - lag >= 0, y[np.maximum(t - lag, 0)], np.nan)
    return out.reshape(len(issues), SLOTS_PER_DAY)


@dataclass
class GbmBaseline:
    """Plain gradient boosting (scikit-learn's defaults) on slot, weekday and the raw loads a
    day and a week before: what the scaling, the longer lags and the tuning add."""

    model: HistGradientBoostingRegressor

    @staticmethod
    def _x(y: Floats, start: datetime, issues: np.ndarray) -> tuple[Floats, np.ndarray]:
        x, level, t = design(y, start, issues)
        raw = np.column_stack([x[:, 0], x[:, 1], x[:, 3] * level, x[:, 6] * level])
        return raw, t

    @classmethod
    def fit(cls, y: Floats, start: datetime, stop: int, *, seed: int = 0) -> GbmBaseline:
        x, t = cls._x(y, start, day_starts(y, start, WEEK, stop))
        ok = np.isfinite(y[t])
        model = HistGradientBoostingRegressor(random_state=seed).fit(x[ok], y[t][ok])
        return cls(model)

    def predict(self, y: Floats, start: datetime, issues: np.ndarray) -> Floats:
        x, _ = self._x(y, start, issues)
        return np.asarray(self.model.predict(x), dtype=np.float64).reshape(
            len(issues), SLOTS_PER_DAY
        )
