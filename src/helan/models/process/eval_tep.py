"""``helan models eval tep --data DIR``: per-fault detection rate (test samples after the fault
is introduced, sample 161 on, that raise an alarm) and the false-alarm rate (alarms on the
normal test file d00_te), for the static PCA T²/Q baseline and the dynamic PCA monitor,
both fitted on d00 only with the same threshold rule, in the same run."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from helan.models.process import monitor, tep
from helan.observe.report import report

HARD = (3, 9, 15)  # known to be almost undetectable


def evaluate(data: Path, lags: int = 2) -> tuple[dict[str, object], Table]:
    train, tests = tep.read_folder(data)
    baseline = monitor.fit(train, lags=0)
    dynamic = monitor.fit(train, lags=lags)
    table = Table(title="Tennessee Eastman: detection rate per fault")
    for col in ("fault", "PCA T²/Q", f"DPCA (lags={lags})"):
        table.add_column(col, justify="right")
    rates: dict[str, dict[int, float]] = {"pca": {}, "dpca": {}}
    for fault, x in sorted(tests.items()):
        row = []
        for key, m in (("pca", baseline), ("dpca", dynamic)):
            flags = m.alarms(x)
            rate = float(flags.mean() if fault == 0 else flags[tep.FAULT_AT :].mean())
            rates[key][fault] = rate
            row.append(f"{rate:.3f}")
        table.add_row("normal (FAR)" if fault == 0 else str(fault), *row)
    faults = [f for f in sorted(tests) if f != 0]

    def mean(key: str, which: list[int]) -> float | None:
        picked = [rates[key][f] for f in which if f in rates[key]]
        return round(float(np.mean(picked)), 4) if picked else None

    easy = [f for f in faults if f not in HARD]
    figures: dict[str, object] = {
        "faults": len(faults),
        "far": round(rates["dpca"][0], 4),
        "baseline_pca_far": round(rates["pca"][0], 4),
        "detection_rate": mean("dpca", faults),
        "baseline_pca_detection_rate": mean("pca", faults),
        "detection_rate_without_3_9_15": mean("dpca", easy),
        "baseline_pca_detection_rate_without_3_9_15": mean("pca", easy),
        "ratio": round(mean("dpca", faults) / mean("pca", faults), 3)  # type: ignore[operator]
        if faults and mean("pca", faults)
        else None,
        "per_fault": {str(f): round(rates["dpca"][f], 4) for f in faults},
        "per_fault_pca": {str(f): round(rates["pca"][f], 4) for f in faults},
        "pca_components": int(baseline.pca.n_components_),
        "dpca_components": int(dynamic.pca.n_components_),
    }
    return figures, table


def run(
    data: Annotated[Path, typer.Option(help="Folder with d00.dat and dNN_te.dat (or .gz).")],
    lags: Annotated[int, typer.Option(min=0, max=10, help="Dynamic PCA lags.")] = 2,
) -> None:
    """TEP: per-fault detection and false-alarm rates, dynamic PCA against static PCA."""
    started = time.perf_counter()
    figures, table = evaluate(data, lags)
    figures["seconds"] = round(time.perf_counter() - started, 2)
    Console().print(table)
    report("Tennessee Eastman fault detection", figures)
