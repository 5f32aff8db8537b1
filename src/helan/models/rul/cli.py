"""``helan models eval rul --train F --test F --truth F``: train on a C-MAPSS training file,
score the last cycle of each test unit against the truth file; a table, then one JSON line."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from helan.core.errors import ValidationFailed
from helan.models.registry import Registry
from helan.models.rul.data import read_runs, read_truth
from helan.models.rul.metrics import phm08_score, rmse
from helan.models.rul.model import CAP, DEFAULT_PARAMS, LastCycleBaseline, fit
from helan.observe.report import report

# Published FD001 RMSE: Babu et al. 2016 (CNN), Zheng et al. 2017 (deep LSTM), Li et al. 2020
# (MS-DCNN). Context only: they are other papers' figures, not run here.
ANCHORS = {"anchor_cnn_rmse": 18.45, "anchor_lstm_rmse": 16.14, "anchor_ms_dcnn_rmse": 11.44}


def run(
    train: Annotated[Path, typer.Option(help="train_FD00x.txt (run-to-failure units).")],
    test: Annotated[Path, typer.Option(help="test_FD00x.txt (units cut before failure).")],
    truth: Annotated[Path, typer.Option(help="RUL_FD00x.txt (true RUL per test unit).")],
    seed: Annotated[int, typer.Option(help="Seed for the split, clustering and trees.")] = 0,
    save: Annotated[bool, typer.Option(help="Store the trained model in the registry.")] = True,
    registry: Annotated[Path | None, typer.Option(help="Registry folder.")] = None,
) -> None:
    """Remaining useful life (C-MAPSS protocol: target capped at 125, last test cycle)."""
    try:
        runs = read_runs(train)
        tests = read_runs(test)
        true = read_truth(truth, len(tests.units))
    except ValidationFailed as exc:  # a wrong file: its message, not a traceback
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    started = time.perf_counter()
    model = fit(runs, seed=seed)
    train_s = time.perf_counter() - started
    predicted = model.predict_last(tests)
    baseline = LastCycleBaseline.fit(runs, seed=seed).predict_last(tests)
    figures: dict[str, object] = {
        "rmse": round(rmse(predicted, true), 3),
        "score": round(phm08_score(predicted, true), 1),
        "units": len(true),
        "rmse_truth_capped": round(rmse(predicted, np.minimum(true, CAP)), 3),
        "baseline_rmse": round(rmse(baseline, true), 3),
        "baseline_score": round(phm08_score(baseline, true), 1),
        "ratio": round(rmse(predicted, true) / rmse(baseline, true), 3),
        **ANCHORS,
        "conditions": model.info["conditions"],
        "validation_rmse": round(float(model.info["validation_rmse"]), 3)
        if "validation_rmse" in model.info
        else None,
        "rounds": model.info["rounds"],
        "train_units": len(runs.units),
        "train_s": round(train_s, 1),
        "seed": seed,
    }
    notes = {
        "rmse": "last cycle of each test unit vs the truth file as given",
        "score": "PHM08 (late predictions punished harder); lower is better",
        "rmse_truth_capped": f"truth capped at {CAP:.0f} like the target (some papers do this)",
        "baseline_rmse": "ridge on the last cycle's per-condition normalised sensors",
        "ratio": "rmse / baseline_rmse",
        "validation_rmse": "20% of training units, random cut points; picks the rounds",
        "conditions": "operating conditions found by clustering the 3 settings",
    }
    if save:
        from helan.models.cli import default_root

        card = Registry(registry or default_root()).save(
            "rul",
            model,
            dataset=f"C-MAPSS {Path(train).name}",
            metrics={k: figures[k] for k in ("rmse", "score", "units", "validation_rmse")},
            params={**DEFAULT_PARAMS, "cap": CAP, "rounds": model.info["rounds"]},
            seed=seed,
            notes={"test": Path(test).name, "truth": Path(truth).name},
        )
        notes["seed"] = f"saved as rul v{card.version}"
    report("remaining useful life (C-MAPSS)", figures, notes)
