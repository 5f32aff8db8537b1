"""Energy performance indicators and baselines after ISO 50006:2014.

The energy baseline (EnB) is a linear regression of energy on the relevant variables
(production and others: degree days, load shares) fitted over a stated baseline period.
Its fit is reported the way ISO 50006 (and ASHRAE Guideline 14, which it points to for
statistical validity) asks: R², adjusted R², CV(RMSE), NMBE, the coefficients with their
t statistics and p values, and n. In a reporting period the EnPI is the ratio of measured to
expected energy (1.0 = as in the baseline; above = worse); the savings are expected minus
measured. The intensity EnPI (energy per unit of output) is kept as the simplest indicator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

MIN_POINTS_PER_VARIABLE = 3  # fewer observations than this per coefficient: no baseline

FloatArray = npt.NDArray[np.float64]


class BaselineError(ValueError):
    """The baseline cannot be fitted (too few observations, constant or missing variables)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Baseline:
    variables: tuple[str, ...]
    intercept: float
    coefficients: dict[str, float]
    t_values: dict[str, float]
    p_values: dict[str, float]
    n: int
    r2: float
    adj_r2: float
    cv_rmse: float  # RMSE / mean energy
    nmbe: float  # mean bias / mean energy (0 on the baseline period by construction)
    period: tuple[str, str]  # as stated by the caller (ISO 50006: the baseline period)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def expected(self, x: Mapping[str, Sequence[float] | FloatArray]) -> FloatArray:
        missing = [v for v in self.variables if v not in x]
        if missing:
            raise BaselineError(f"variables missing for the expected energy: {missing}")
        out = np.full(
            len(np.asarray(x[self.variables[0]])) if self.variables else 1, self.intercept
        )
        for v in self.variables:
            out = out + self.coefficients[v] * np.asarray(x[v], dtype=np.float64)
        return out


def fit_baseline(
    energy: Sequence[float] | FloatArray,
    x: Mapping[str, Sequence[float] | FloatArray],
    *,
    period: tuple[str, str],
) -> Baseline:
    """Ordinary least squares of ``energy`` on the columns of ``x``; rows with a NaN in any
    column are left out (a missing interval is not a zero)."""
    y = np.asarray(energy, dtype=np.float64)
    names = tuple(x)
    cols = [np.asarray(x[v], dtype=np.float64) for v in names]
    for v, c in zip(names, cols, strict=True):
        if c.shape != y.shape:
            raise BaselineError(f"variable {v!r} has {c.size} values, energy has {y.size}")
    keep = np.isfinite(y)
    for c in cols:
        keep &= np.isfinite(c)
    y = y[keep]
    cols = [c[keep] for c in cols]
    n, p = y.size, len(names)
    if n < max(MIN_POINTS_PER_VARIABLE * (p + 1), p + 2):
        raise BaselineError(f"{n} usable observations are too few for {p} variables")
    for v, c in zip(names, cols, strict=True):
        if np.ptp(c) == 0:
            raise BaselineError(f"variable {v!r} is constant over the baseline period")
    design = np.column_stack([np.ones(n), *cols])
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    fitted = design @ beta
    resid = y - fitted
    sse = float(resid @ resid)
    sst = float(((y - y.mean()) ** 2).sum())
    dof = n - p - 1
    r2 = 1.0 - sse / sst if sst > 0 else 0.0
    adj = 1.0 - (1.0 - r2) * (n - 1) / dof
    sigma2 = sse / dof
    cov = sigma2 * np.linalg.pinv(design.T @ design)
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, beta / se, np.inf)
    from scipy.special import stdtr  # here: importing scipy costs time at platform start

    pv = 2 * stdtr(dof, -np.abs(t))
    mean = float(y.mean())
    return Baseline(
        variables=names,
        intercept=float(beta[0]),
        coefficients={v: float(b) for v, b in zip(names, beta[1:], strict=True)},
        t_values={v: float(tv) for v, tv in zip(names, t[1:], strict=True)},
        p_values={v: float(pval) for v, pval in zip(names, pv[1:], strict=True)},
        n=n,
        r2=r2,
        adj_r2=adj,
        cv_rmse=float(np.sqrt(sse / dof)) / mean if mean else float("inf"),
        nmbe=float(resid.sum()) / (dof * mean) if mean else 0.0,
        period=period,
    )


@dataclass(frozen=True, slots=True)
class Performance:
    """A reporting period against the baseline."""

    measured: float
    expected: float
    enpi_ratio: float | None  # measured / expected
    savings: float  # expected - measured (negative: more than the baseline predicts)
    cv_rmse: float | None  # of the baseline's predictions in this period
    nmbe: float | None


def compare(
    baseline: Baseline,
    energy: Sequence[float] | FloatArray,
    x: Mapping[str, Sequence[float] | FloatArray],
) -> Performance:
    y = np.asarray(energy, dtype=np.float64)
    exp = baseline.expected(x)
    keep = np.isfinite(y) & np.isfinite(exp)
    y, exp = y[keep], exp[keep]
    measured, expected = float(y.sum()), float(exp.sum())
    mean = float(y.mean()) if y.size else 0.0
    resid = y - exp
    cv = float(np.sqrt((resid**2).mean())) / mean if y.size and mean else None
    nmbe = float(resid.sum()) / (y.size * mean) if y.size and mean else None
    return Performance(
        measured=measured,
        expected=expected,
        enpi_ratio=measured / expected if expected > 0 else None,
        savings=expected - measured,
        cv_rmse=cv,
        nmbe=nmbe,
    )


def intensity(energy_kwh: float, output: float) -> float | None:
    """Energy per unit of output (kWh per part); None without output."""
    return energy_kwh / output if output > 0 else None


def power_factor(active_kwh: float, reactive_kvarh: float) -> float | None:
    """Displacement power factor over an interval: P / sqrt(P² + Q²) from the energies."""
    apparent = float(np.hypot(active_kwh, reactive_kvarh))
    return active_kwh / apparent if apparent > 0 else None
