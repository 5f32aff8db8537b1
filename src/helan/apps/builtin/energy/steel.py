"""The energy centre checked on the UCI steel-plant data (``Steel_industry_data.csv``, the data
set's own format: 15-minute rows of ``Usage_kWh``, reactive energies, ``CO2(tCO2)``, power
factors, ``Load_Type``).

1. CO2: the data set's ``CO2(tCO2)`` column is its energy times one emission factor, rounded
   to 0.01 t. The factor is recovered as the interval every row allows, then the column is
   recomputed through the app's own CO2 path and compared row by row. Rows whose CO2 reads 0
   while the energy says otherwise are the data set's dropouts, counted apart.
2. EnPI baseline (ISO 50006): daily energy regressed on the relevant variables the data set
   records (working day or not, hours at maximum and at medium load: its ``Load_Type``, the
   plant's own record of its operating mode; it has no production counts) over the stated
   baseline period, then compared with the reporting period.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from helan.apps.builtin.energy.enpi import compare, fit_baseline, power_factor
from helan.apps.builtin.energy.factors import Factor, emissions_kg
from helan.core.errors import ValidationFailed

REQUIRED = (
    "date",
    "Usage_kWh",
    "Lagging_Current_Reactive_Power_kVarh",
    "Leading_Current_Reactive_Power_kVarh",
    "CO2(tCO2)",
    "WeekStatus",
    "Load_Type",
)
_ROOT = Path(__file__).parents[5]
# The full year: the shared data folder beside the checkout (the package ships January only).
CANDIDATES = (
    _ROOT / "data" / "steel-energy" / "Steel_industry_data.csv",
    _ROOT.parent / "shared" / "data" / "steel-energy" / "Steel_industry_data.csv",
)
DEFAULT = next((p for p in CANDIDATES if p.is_file()), CANDIDATES[0])
VARIABLES = ("working_day", "max_load_h", "medium_load_h")
# The second model: lagging reactive energy tracks the motors (rolling mills) that run, i.e.
# the production activity; it is an electrical measurement, so it is reported apart.
PROCESS_VARIABLES = ("working_day", "lagging_kvarh")


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        missing = [c for c in REQUIRED if c not in header]
        if "Lagging_Current_Reactive_Power_kVarh" in missing and (
            "Lagging_Current_Reactive.Power_kVarh" in header  # UCI's own spelling
        ):
            missing.remove("Lagging_Current_Reactive_Power_kVarh")
        if missing:
            raise ValidationFailed(f"{path}: missing column(s) {missing}; found {header}")
        return list(reader)


def _day(text: str) -> date:
    """The interval's day: rows are stamped at their end, so 00:00 belongs to the day before."""
    at = datetime.strptime(text, "%d/%m/%Y %H:%M")
    return (at - timedelta(minutes=15)).date()


def co2_check(usage: np.ndarray, co2_t: np.ndarray) -> dict[str, Any]:
    counted = (usage > 0) & (co2_t > 0)
    lo = float(((co2_t[counted] - 0.005) / usage[counted]).max())
    hi = float(((co2_t[counted] + 0.005) / usage[counted]).min())
    factor_kg = round((lo + hi) / 2 * 1000, 4)
    own = Factor(region="custom", year=2018, value=factor_kg, scope="data set", source="UCI 851")
    recomputed = np.round(np.array([emissions_kg(u, own) for u in usage.tolist()]) / 1000, 2)
    dropout = (co2_t == 0) & (recomputed > 0)
    valid = ~dropout
    exact = np.abs(recomputed - co2_t) < 1e-9
    return {
        "co2_factor_kg_per_kwh": factor_kg,
        "co2_factor_interval": [round(lo * 1000, 5), round(hi * 1000, 5)],
        "co2_rows": int(usage.size),
        "co2_exact_share": float(exact[valid].mean()),
        "co2_dropouts": int(dropout.sum()),
        "co2_total_t": round(float(co2_t.sum()), 2),
        "co2_recomputed_t": round(float(recomputed[valid].sum()), 2),
    }


def daily(rows: list[dict[str, str]]) -> dict[date, dict[str, float]]:
    days: dict[date, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    lag = next(c for c in rows[0] if c.startswith("Lagging_Current_Reactive"))
    for r in rows:
        d = days[_day(r["date"])]
        d["kwh"] += float(r["Usage_kWh"])
        d["kvarh"] += float(r[lag]) - float(r["Leading_Current_Reactive_Power_kVarh"])
        d["lagging_kvarh"] += float(r[lag])
        d["working_day"] = 1.0 if r["WeekStatus"] == "Weekday" else 0.0
        d["max_load_h"] += 0.25 if r["Load_Type"] == "Maximum_Load" else 0.0
        d["medium_load_h"] += 0.25 if r["Load_Type"] == "Medium_Load" else 0.0
        d["n"] += 1
    return {k: dict(v) for k, v in days.items() if v["n"] == 96}  # whole days only


def evaluate(
    data: Path = DEFAULT, baseline_end: str | None = None
) -> tuple[dict[str, object], dict[str, str]]:
    """CO2 reproduced from energy and the data set's factor; the ISO 50006 EnPI baseline fit."""
    rows = read(data)
    usage = np.array([float(r["Usage_kWh"]) for r in rows])
    co2 = np.array([float(r["CO2(tCO2)"]) for r in rows])
    figures: dict[str, object] = dict(co2_check(usage, co2))
    days = daily(rows)
    ordered = sorted(days)
    if len(ordered) < 2 * len(PROCESS_VARIABLES + VARIABLES) + 8:
        raise ValidationFailed(f"{data}: {len(ordered)} whole days are too few for a baseline")
    cut = date.fromisoformat(baseline_end) if baseline_end else ordered[len(ordered) // 2 - 1]
    base = sorted(d for d in days if d <= cut)
    later = sorted(d for d in days if d > cut)
    if len(base) < 8 or not later:
        raise ValidationFailed(f"baseline end {cut} leaves {len(base)} / {len(later)} days")
    col = {v: np.array([days[d][v] for d in base]) for v in VARIABLES}
    fit = fit_baseline(
        [days[d]["kwh"] for d in base], col, period=(base[0].isoformat(), base[-1].isoformat())
    )
    perf = compare(
        fit, [days[d]["kwh"] for d in later], {v: [days[d][v] for d in later] for v in VARIABLES}
    )
    pcol = {v: np.array([days[d][v] for d in base]) for v in PROCESS_VARIABLES}
    pfit = fit_baseline([days[d]["kwh"] for d in base], pcol, period=fit.period)
    pperf = compare(
        pfit,
        [days[d]["kwh"] for d in later],
        {v: [days[d][v] for d in later] for v in PROCESS_VARIABLES},
    )
    pf = power_factor(sum(days[d]["kwh"] for d in days), sum(days[d]["kvarh"] for d in days))
    figures.update(
        {
            "baseline_period": f"{fit.period[0]}..{fit.period[1]}",
            "baseline_days": fit.n,
            "baseline_r2": round(fit.r2, 4),
            "baseline_adj_r2": round(fit.adj_r2, 4),
            "baseline_cv_rmse": round(fit.cv_rmse, 4),
            "baseline_intercept_kwh": round(fit.intercept, 1),
            **{f"coef_{v}": round(b, 2) for v, b in fit.coefficients.items()},
            "reporting_period": f"{later[0].isoformat()}..{later[-1].isoformat()}",
            "reporting_days": len(later),
            "reporting_enpi_ratio": round(perf.enpi_ratio or float("nan"), 4),
            "reporting_cv_rmse": round(perf.cv_rmse or float("nan"), 4),
            "reporting_nmbe": round(perf.nmbe or float("nan"), 4),
            "process_baseline_r2": round(pfit.r2, 4),
            "process_baseline_cv_rmse": round(pfit.cv_rmse, 4),
            "process_reporting_enpi_ratio": round(pperf.enpi_ratio or float("nan"), 4),
            "process_reporting_cv_rmse": round(pperf.cv_rmse or float("nan"), 4),
            "power_factor_year": round(pf or float("nan"), 4),
        }
    )
    notes = {
        "co2_factor_kg_per_kwh": "the one factor every non-dropout row allows (rounded to 0.01 t)",
        "co2_dropouts": "rows with CO2 0 though the energy gives >= 0.01 t",
        "baseline_r2": "daily kWh ~ working day + hours at maximum / medium load",
        "process_baseline_r2": "daily kWh ~ working day + lagging reactive kvarh",
        "reporting_enpi_ratio": "measured / expected energy (1 = as in the baseline)",
    }
    return figures, notes
