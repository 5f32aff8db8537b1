"""The RUL model: per-condition normaliser + windowed features + LightGBM, and the simple
baseline it is compared with (ridge regression on the last cycle's normalised sensors).

Training uses every cycle of every training unit with the piecewise-linear target (capped, because
wear is invisible early in life). The number of boosting rounds is chosen by early stopping on
a validation split of *training units* (20 %, seeded), scored at random cut points like the test
set's; the model is then refitted on all training units with that number. The test split is
never looked at while fitting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.linear_model import Ridge

from helan.models.rul.data import Floats, Ints, Runs
from helan.models.rul.features import (
    ConditionNormaliser,
    capped_rul,
    last_cycles,
    unit_blocks,
    windowed,
)
from helan.models.rul.metrics import rmse

CAP = 125.0
VALIDATION_SHARE = 0.2
CUTS_PER_UNIT = 5

DEFAULT_PARAMS: dict[str, Any] = {
    "n_estimators": 2000,
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_child_samples": 40,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.5,
    "reg_lambda": 1.0,
    "n_jobs": 2,
    "verbose": -1,
}


@dataclass
class RulModel:
    normaliser: ConditionNormaliser
    booster: lgb.LGBMRegressor
    cap: float = CAP
    info: dict[str, Any] = field(default_factory=dict)

    def predict(self, runs: Runs) -> Floats:
        """RUL at every row of ``runs`` (each unit's past only), clipped to [0, cap]."""
        x = windowed(runs, self.normaliser.transform(runs))
        return np.asarray(np.clip(self.booster.predict(x), 0.0, self.cap), dtype=np.float64)

    def predict_last(self, runs: Runs) -> Floats:
        """RUL at the last cycle of each unit, in unit order."""
        return self.predict(runs)[last_cycles(runs)]


def split_units(units: Ints, seed: int) -> tuple[Ints, Ints]:
    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(np.unique(units))
    n_val = max(1, round(len(shuffled) * VALIDATION_SHARE)) if len(shuffled) > 1 else 0
    return np.sort(shuffled[n_val:]), np.sort(shuffled[:n_val])


def _cut_rows(runs: Runs, seed: int) -> Ints:
    """Random cut points per unit (as the test set's units stop before failure): row positions."""
    rng = np.random.default_rng(seed)
    picks: list[int] = []
    for block in unit_blocks(runs.unit):
        n = block.stop - block.start
        picks.extend(block.start + rng.integers(min(30, n - 1), n, size=CUTS_PER_UNIT))
    return np.asarray(picks, dtype=np.int64)


def fit(
    runs: Runs, *, seed: int = 0, params: dict[str, Any] | None = None, cap: float = CAP
) -> RulModel:
    """Train on ``runs`` (run-to-failure units); validation units pick the rounds."""
    chosen = {**DEFAULT_PARAMS, **(params or {}), "random_state": seed}
    normaliser = ConditionNormaliser(seed=seed).fit(runs)
    x = windowed(runs, normaliser.transform(runs))
    y = capped_rul(runs, cap)
    train_units, val_units = split_units(runs.unit, seed)
    info: dict[str, Any] = {
        "conditions": normaliser.conditions,
        "sensors": normaliser.sensors,
        "features": x.shape[1],
        "validation_units": len(val_units),
    }
    rounds = int(chosen["n_estimators"])
    if len(val_units):
        in_train = np.isin(runs.unit, train_units)
        cuts = _cut_rows(runs.take(~in_train), seed)
        x_val, y_val = x[~in_train][cuts], y[~in_train][cuts]
        probe = lgb.LGBMRegressor(**chosen)
        probe.fit(
            x[in_train],
            y[in_train],
            eval_X=(x_val,),
            eval_y=(y_val,),
            callbacks=[lgb.early_stopping(100, verbose=False)],
        )
        rounds = max(50, int(probe.best_iteration_ or rounds))
        info["validation_rmse"] = rmse(np.clip(probe.predict(x_val), 0, cap), y_val)
    info["rounds"] = rounds
    booster = lgb.LGBMRegressor(**{**chosen, "n_estimators": rounds})
    booster.fit(x, y)
    return RulModel(normaliser=normaliser, booster=booster, cap=cap, info=info)


@dataclass
class LastCycleBaseline:
    """Ridge regression on the normalised sensors of one cycle: what windows and trees add."""

    normaliser: ConditionNormaliser
    ridge: Ridge
    cap: float = CAP

    @classmethod
    def fit(cls, runs: Runs, *, seed: int = 0, cap: float = CAP) -> LastCycleBaseline:
        normaliser = ConditionNormaliser(seed=seed).fit(runs)
        z = normaliser.transform(runs)
        return cls(normaliser, Ridge(alpha=1.0).fit(z, capped_rul(runs, cap)), cap)

    def predict_last(self, runs: Runs) -> Floats:
        rows = last_cycles(runs)
        z = self.normaliser.transform(runs)[rows]
        return np.asarray(np.clip(self.ridge.predict(z), 0.0, self.cap), dtype=np.float64)
