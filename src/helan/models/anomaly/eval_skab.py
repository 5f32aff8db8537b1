"""``helan models eval anomaly --data DIR``: the SKAB protocol on any SKAB-format folder.

Each run is standardised and fitted on its own first ``--train-rows`` rows (anomaly-free in
SKAB's design) and the whole run is scored, training rows included, as SKAB's leaderboard
notebooks do; the point metrics pool every row of every run. The changepoint score is NAB's
(standard profile) with NAB's window rule on each run's labelled changepoints, and the
predicted changepoints are the edges of the predicted anomaly flags (SKAB's convention).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from helan.models.anomaly import detector, metrics
from helan.models.anomaly.skab import read_folder
from helan.models.registry import Registry
from helan.observe.report import report


def evaluate(data: Path, train_rows: int = detector.TRAIN_ROWS) -> dict[str, object]:
    runs = read_folder(data)
    truth, predicted, window_scores = [], [], []
    baselines = {}
    profile = metrics.PROFILES["standard"]
    for run in runs:
        assert run.anomaly is not None  # read_folder reads labelled runs
        assert run.changepoint is not None
        _, flags, baseline = detector.detect(run.signals, train_rows)
        baselines[run.name] = baseline
        truth.append(run.anomaly)
        predicted.append(flags)
        windows = metrics.centred_windows(
            np.flatnonzero(run.changepoint).tolist(), len(run.changepoint)
        )
        if windows:
            window_scores.append(metrics.nab_score(metrics.edges(flags), windows, profile))
    points = metrics.point_scores(np.concatenate(truth), np.concatenate(predicted))
    return {
        "runs": len(runs),
        "rows": int(sum(len(t) for t in truth)),
        "f1": round(points.f1, 4),
        "far": round(points.far, 4),
        "mar": round(points.mar, 4),
        "nab_standard": round(metrics.normalised(window_scores, profile), 2),
        "anchor_conv_ae_f1": 0.78,
        "f1_ratio_to_anchor": round(points.f1 / 0.78, 3),
        "_baselines": baselines,
    }


def run(
    data: Annotated[Path, typer.Option(help="A SKAB-format folder (runs in subfolders).")],
    train_rows: Annotated[
        int, typer.Option(min=20, help="Rows at each run's start used as normal data.")
    ] = detector.TRAIN_ROWS,
    registry: Annotated[
        Path | None, typer.Option(help="Store the fitted baselines in this model registry.")
    ] = None,
) -> None:
    """SKAB: F1, FAR, MAR on point anomalies and the NAB changepoint score."""
    started = time.perf_counter()
    figures = evaluate(data, train_rows)
    baselines = figures.pop("_baselines")
    figures["seconds"] = round(time.perf_counter() - started, 2)
    if registry is not None:
        Registry(registry).save(
            "skab-mahalanobis",
            baselines,
            dataset=str(data),
            metrics={k: figures[k] for k in ("f1", "far", "mar", "nab_standard")},
            params={
                "train_rows": train_rows,
                "alpha": detector.ALPHA,
                "quantile": detector.QUANTILE,
                "factor": detector.FACTOR,
            },
            seed=0,
        )
    report(
        "SKAB anomaly detection (Mahalanobis on each run's own start)",
        figures,
        {
            "f1": "point anomalies, all rows of all runs",
            "far": "FP / (FP + TN)",
            "mar": "FN / (FN + TP)",
            "nab_standard": "changepoints, NAB standard profile, 0 null .. 100 perfect",
        },
    )
