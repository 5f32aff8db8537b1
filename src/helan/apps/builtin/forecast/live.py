"""The forecast app's model and per-meter forecasting, apart from the hooks.

The live model is the evaluated one's recipe (:mod:`helan.models.forecast`) trained on the
steel-plant recording the simulator's meters replay, with rows for young meters (hours to days
of history) added, so a meter gets a forecast from its first hour. It is stored in the model
registry as ``forecast-live`` and loaded from there on the next start; a stored version that
this Helan refuses (another library version, a changed artefact) is trained again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from helan.core.errors import NotFound
from helan.models.forecast import model as fm
from helan.models.forecast.data import SLOTS_PER_DAY, read_steel
from helan.models.registry import ModelVersionError, Registry

log = logging.getLogger(__name__)

MODEL_NAME = "forecast-live"
SLOT_MS = 15 * 60_000
HISTORY_DAYS = 29  # the longest lag is four weeks
MASK_SHARE = 0.6
SEED = 0
# The simulator lays the steel profile on China time; calendar features use the plant's clock.
TIMEZONE = ZoneInfo("Asia/Shanghai")
TRAINING_DATA = (
    Path(__file__).resolve().parents[3]
    / "sim"
    / "data"
    / "steel-energy"
    / "Steel_industry_data_2018-01.csv"
)


def train(path: Path = TRAINING_DATA) -> fm.ForecastModel:
    """Fit the live model on a UCI steel CSV (the packaged four weeks: seconds on one core)."""
    series = read_steel(path)
    return fm.fit(series.values, series.start, len(series), seed=SEED, mask_share=MASK_SHARE)


def load_or_train(root: Path, path: Path = TRAINING_DATA) -> tuple[fm.ForecastModel, int]:
    """The registry's newest ``forecast-live`` and its version, or a new one trained and saved."""
    registry = Registry(root)
    try:
        found, card = registry.load(MODEL_NAME)
        if isinstance(found, fm.ForecastModel):
            return found, card.version
        log.warning(
            "forecast app: %s v%d is not a forecast model; training", MODEL_NAME, card.version
        )
    except NotFound:
        pass
    except ModelVersionError as exc:
        log.warning("forecast app: %s; training a new version", exc)
    model = train(path)
    card = registry.save(
        MODEL_NAME,
        model,
        dataset=f"UCI steel {path.name}",
        metrics={"rounds": model.info["rounds"]},
        params={**fm.DEFAULT_PARAMS, "mask_share": MASK_SHARE, "rounds": model.info["rounds"]},
        seed=SEED,
    )
    return model, card.version


def grid(buckets: pa.Table, start_ms: int, slots: int) -> np.ndarray:
    """15-minute means (an aggregate's ``bucket``/``value`` columns) on a grid of ``slots``
    from ``start_ms``; NaN where the meter sent nothing."""
    y = np.full(slots, np.nan)
    if buckets.num_rows:
        idx = (
            np.asarray(buckets.column("bucket").to_pylist(), dtype=np.int64) - start_ms
        ) // SLOT_MS
        values = np.asarray(buckets.column("value").to_pylist(), dtype=np.float64)
        ok = (idx >= 0) & (idx < slots) & np.isfinite(values)
        y[idx[ok]] = values[ok]
    return y


def forecast(model: fm.ForecastModel, y: np.ndarray, start_ms: int) -> np.ndarray:
    """The 96 slots after the history ``y`` (slots from ``start_ms``), or NaNs without history."""
    if not np.isfinite(y).any():
        return np.full(SLOTS_PER_DAY, np.nan)
    start = datetime.fromtimestamp(start_ms / 1000, UTC).astimezone(TIMEZONE).replace(tzinfo=None)
    return np.asarray(model.predict(y, start, np.array([len(y)]))[0], dtype=np.float64)
