"""``helan models eval forecast --data F [--split-date D]``: day-ahead 15-minute load on a UCI
steel CSV, trained on the days before the split and scored on the whole days after it against a
seasonal-naive and a plain gradient-boosting baseline; a table, then one JSON line."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from helan.core.errors import ValidationFailed
from helan.models.forecast.data import SLOTS_PER_DAY, read_steel
from helan.models.forecast.metrics import mae, mape, wape
from helan.models.forecast.model import (
    DEFAULT_PARAMS,
    GbmBaseline,
    day_starts,
    fit,
    seasonal_naive,
)
from helan.models.registry import Registry
from helan.observe.report import report

DEFAULT_SPLIT = "2018-10-01"


def run(
    data: Annotated[Path, typer.Option(help="Steel_industry_data.csv (or .csv.gz), UCI format.")],
    split_date: Annotated[
        str, typer.Option(help="First test day (YYYY-MM-DD); training is the days before.")
    ] = DEFAULT_SPLIT,
    seed: Annotated[int, typer.Option(help="Seed for the trees.")] = 0,
    save: Annotated[bool, typer.Option(help="Store the trained model in the registry.")] = True,
    registry: Annotated[Path | None, typer.Option(help="Registry folder.")] = None,
) -> None:
    """Day-ahead load forecast: issued at each midnight for the day's 96 slots."""
    try:
        split_day = datetime.strptime(split_date, "%Y-%m-%d")
    except ValueError:
        raise typer.BadParameter(
            f"{split_date!r}: expected YYYY-MM-DD", param_hint="--split-date"
        ) from None
    try:
        series = read_steel(data)
    except ValidationFailed as exc:  # a wrong file: its message, not a traceback
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    y, start = series.values, series.start
    split = series.index_of(split_day)
    test = day_starts(y, start, split, len(y))
    if split <= 9 * SLOTS_PER_DAY or not len(test):
        raise typer.BadParameter(
            f"{split_date}: needs at least 9 days before it and one whole day "
            f"after it (data {start:%Y-%m-%d} to {series.slot_start(len(y)):%Y-%m-%d})",
            param_hint="--split-date",
        )
    t = np.repeat(test, SLOTS_PER_DAY) + np.tile(np.arange(SLOTS_PER_DAY), len(test))
    actual = y[t].reshape(len(test), SLOTS_PER_DAY)
    started = time.perf_counter()
    model = fit(y, start, split, seed=seed)
    train_s = time.perf_counter() - started
    predicted = model.predict(y, start, test)
    week = seasonal_naive(y, test, 7 * SLOTS_PER_DAY)
    day = seasonal_naive(y, test, SLOTS_PER_DAY)
    naive = week if mae(week, actual) <= mae(day, actual) else day
    gbm = GbmBaseline.fit(y, start, split, seed=seed).predict(y, start, test)
    last = series.slot_start(int(test[-1]) + SLOTS_PER_DAY - 1)
    figures: dict[str, object] = {
        "mae": round(mae(predicted, actual), 3),
        "mape": round(mape(predicted, actual), 2),
        "wape": round(wape(predicted, actual), 2),
        "baseline_naive_mae": round(mae(naive, actual), 3),
        "baseline_naive_mape": round(mape(naive, actual), 2),
        "baseline_naive_week_mae": round(mae(week, actual), 3),
        "baseline_naive_day_mae": round(mae(day, actual), 3),
        "baseline_gbm_mae": round(mae(gbm, actual), 3),
        "baseline_gbm_mape": round(mape(gbm, actual), 2),
        "ratio_naive": round(mae(predicted, actual) / mae(naive, actual), 3),
        "ratio_gbm": round(mae(predicted, actual) / mae(gbm, actual), 3),
        "train_from": f"{series.slot_start(7 * SLOTS_PER_DAY):%Y-%m-%d}",
        "test_from": f"{split_day:%Y-%m-%d}",
        "test_to": f"{last:%Y-%m-%d}",
        "test_days": len(test),
        "rounds": model.info["rounds"],
        "train_s": round(train_s, 1),
        "seed": seed,
    }
    notes = {
        "mae": "kWh per 15-min interval, over every slot of every test day",
        "mape": "%, intervals with actual > 0",
        "wape": "%, total |error| / total load",
        "baseline_naive_mae": "better of same slot a week / a day before",
        "baseline_gbm_mae": "HistGradientBoosting: slot, weekday, load a day and a week before",
        "ratio_gbm": "mae / baseline_gbm_mae (< 1: better)",
        "train_from": "the first week only feeds lags; validation = last 28 days before test",
    }
    if save:
        from helan.models.cli import default_root

        card = Registry(registry or default_root()).save(
            "forecast",
            model,
            dataset=f"UCI steel {Path(data).name} to {split_day:%Y-%m-%d}",
            metrics={k: figures[k] for k in ("mae", "mape", "baseline_gbm_mae")},
            params={**DEFAULT_PARAMS, "rounds": model.info["rounds"], "mask_share": 0.0},
            seed=seed,
        )
        notes["seed"] = f"saved as forecast v{card.version}"
    report("day-ahead load forecast (UCI steel)", figures, notes)
