"""Health index of a machine: the probability, in per cent, that it runs through the next
``horizon_s`` of operation without a breakdown, under the constant failure rate its MTBF gives
(R(t) = exp(-t / MTBF)). A window without a breakdown gives a lower bound for the MTBF (the run
time seen) and so a lower bound for the index; a machine that never ran has none."""

from __future__ import annotations

import math

DEFAULT_HORIZON_S = 8 * 3600.0  # one shift


def health_index(
    run_s: float, failures: int, *, horizon_s: float = DEFAULT_HORIZON_S
) -> float | None:
    if run_s < 0 or failures < 0 or horizon_s <= 0:
        raise ValueError("run_s, failures must be >= 0 and horizon_s > 0")
    if run_s == 0:
        return None
    mtbf = run_s / max(failures, 1)
    return round(100.0 * math.exp(-horizon_s / mtbf), 1)
