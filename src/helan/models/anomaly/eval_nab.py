"""``helan models eval nab --data DIR --labels FILE``: NAB's scoring on NAB's corpus.

NAB's protocol: one threshold for the whole corpus, chosen to maximise the profile's score
(NAB's optimiser does the same, per detector and profile); the score normalised over every file
so the null detector is 0 and the perfect one 100. The in-run baseline is the plain windowed
z-score (no averaging over recent rows, no quiet period), NAB's "windowed Gaussian" kind.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from helan.models.anomaly import metrics, nab
from helan.observe.report import report

LONG = 400
SHORT = 5
QUIET = 0.02  # of each file's rows
THRESHOLDS = np.round(np.linspace(0.30, 0.99, 70), 4)


def best_threshold(
    corpus: list[nab.Series],
    scores: list[nab.Array],
    quiet: float,
    profile: metrics.Profile,
) -> tuple[float, float, list[metrics.WindowScore]]:
    """The corpus threshold with the highest normalised score: (threshold, score, per file)."""
    best: tuple[float, float, list[metrics.WindowScore]] | None = None
    for threshold in THRESHOLDS.tolist():
        per_file = [
            metrics.nab_score(
                nab.detections(x, threshold, max(int(quiet * len(s.values)), 1)),
                s.windows,
                profile,
                probation=metrics.probation_rows(len(s.values)),
            )
            for s, x in zip(corpus, scores, strict=True)
        ]
        value = metrics.normalised(per_file, profile)
        if best is None or value > best[1]:
            best = (threshold, value, per_file)
    assert best is not None
    return best


def evaluate(data: Path, labels: Path, profile_name: str = "standard") -> dict[str, object]:
    corpus = nab.read_corpus(data, labels)
    profile = metrics.PROFILES[profile_name]
    ours = [nab.scores(s.values, long=LONG, short=SHORT) for s in corpus]
    threshold, score, per_file = best_threshold(corpus, ours, QUIET, profile)
    plain = [nab.scores(s.values, long=LONG, short=1) for s in corpus]
    _, baseline, _ = best_threshold(corpus, plain, 0.0, profile)
    return {
        "files": len(corpus),
        "windows": sum(len(s.windows) for s in corpus),
        "nab_standard" if profile_name == "standard" else f"nab_{profile_name}": round(score, 2),
        "baseline_windowed_z": round(baseline, 2),
        "ratio_to_baseline": round(score / baseline, 3) if baseline > 0 else None,
        "threshold": threshold,
        "tp": sum(s.tp for s in per_file),
        "fp": sum(s.fp for s in per_file),
        "fn": sum(s.fn for s in per_file),
    }


def run(
    data: Annotated[Path, typer.Option(help="NAB's data/ folder (CSV files in subfolders).")],
    labels: Annotated[Path, typer.Option(help="NAB's labels/combined_windows.json.")],
    profile: Annotated[
        str, typer.Option(help="standard, reward_low_FP_rate or reward_low_FN_rate.")
    ] = "standard",
) -> None:
    """NAB: the normalised score of a causal two-scale z-score detector and of the baseline."""
    if profile not in metrics.PROFILES:
        raise typer.BadParameter(f"unknown profile {profile!r}: {', '.join(metrics.PROFILES)}")
    started = time.perf_counter()
    figures = evaluate(data, labels, profile)
    figures["seconds"] = round(time.perf_counter() - started, 2)
    report(
        f"NAB corpus, {profile} profile",
        figures,
        {"threshold": "one for the corpus, maximising the score (NAB's optimiser)"},
    )
