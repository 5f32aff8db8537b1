"""Increments of cumulative counters (parts, rejects, kWh) between samples.

A counter only rises. A fall is one of two things: a rollover (the register wrapped at
``rollover``; the previous value was in its top tenth), where the increment is what was left to
the top plus the new value; or a reset (PLC power cycle, meter replaced), where the counter
started again from zero, so the new value is the increment since the reset (what was counted
between the last sample and the reset is lost and counted as such). NaN, infinite and negative
readings are dropped; a frozen counter gives increments of zero, which is the finding.
Samples are sorted by time first (a clock that jumped back), a repeated timestamp keeps the last.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

ROLLOVER_ZONE = 0.9  # a fall from above 90 % of the register's range is a wrap, not a reset


@dataclass(frozen=True, slots=True)
class Increments:
    """``delta[i]`` counted in (``start_ms[i]``, ``end_ms[i]``]; ``resets`` and ``rollovers``
    say how many falls were read as each, ``dropped`` how many readings were unusable."""

    start_ms: npt.NDArray[np.int64]
    end_ms: npt.NDArray[np.int64]
    delta: npt.NDArray[np.float64]
    resets: int
    rollovers: int
    dropped: int

    @property
    def total(self) -> float:
        return float(self.delta.sum())


def increments(
    ts_ms: Sequence[int] | npt.NDArray[np.int64],
    values: Sequence[float | None] | npt.NDArray[np.float64],
    *,
    rollover: float | None = None,
    before: tuple[int, float] | None = None,
) -> Increments:
    """Increments between consecutive good readings (``before``: the last reading before the
    window, so the first interval is counted too)."""
    ts = np.asarray(ts_ms, dtype=np.int64)
    vals = np.array([math.nan if v is None else v for v in values], dtype=np.float64)
    if ts.shape != vals.shape:
        raise ValueError("ts_ms and values must have the same length")
    if rollover is not None and not rollover > 0:
        raise ValueError("rollover must be positive")
    good = np.isfinite(vals) & (vals >= 0)
    dropped = int((~good).sum())
    ts, vals = ts[good], vals[good]
    if before is not None and math.isfinite(before[1]) and before[1] >= 0:
        ts = np.concatenate([[before[0]], ts])
        vals = np.concatenate([[before[1]], vals])
    order = np.argsort(ts, kind="stable")
    ts, vals = ts[order], vals[order]
    if ts.size:
        last_of_ts = np.append(ts[1:] != ts[:-1], True)  # a repeated timestamp: the last wins
        ts, vals = ts[last_of_ts], vals[last_of_ts]
    if ts.size < 2:
        empty_i = np.empty(0, np.int64)
        return Increments(empty_i, empty_i, np.empty(0), 0, 0, dropped)
    prev, cur = vals[:-1], vals[1:]
    delta = cur - prev
    fell = delta < 0
    wrapped = fell & (prev >= ROLLOVER_ZONE * rollover) if rollover is not None else fell & False
    reset = fell & ~wrapped
    if rollover is not None:
        delta = np.where(wrapped, rollover - prev + cur, delta)
    delta = np.where(reset, cur, delta)
    return Increments(
        ts[:-1].copy(), ts[1:].copy(), delta, int(reset.sum()), int(wrapped.sum()), dropped
    )


def per_bucket(
    inc: Increments, start_ms: int, end_ms: int, bucket_ms: int
) -> npt.NDArray[np.float64]:
    """Each increment spread over the buckets of [start_ms, end_ms) its interval overlaps, in
    proportion to time (a missing interval between two readings shares what was counted over
    it); parts of intervals outside the window are left out."""
    if bucket_ms <= 0 or end_ms <= start_ms:
        raise ValueError("bucket_ms must be positive and the window non-empty")
    n = -(-(end_ms - start_ms) // bucket_ms)
    out = np.zeros(n, dtype=np.float64)
    for a, b, d in zip(inc.start_ms.tolist(), inc.end_ms.tolist(), inc.delta.tolist(), strict=True):
        span = b - a
        lo, hi = max(a, start_ms), min(b, end_ms)
        if hi <= lo or span <= 0:
            continue
        first, last = (lo - start_ms) // bucket_ms, (hi - 1 - start_ms) // bucket_ms
        if first == last:
            out[first] += d * (hi - lo) / span
            continue
        for k in range(first, last + 1):
            ka = max(lo, start_ms + k * bucket_ms)
            kb = min(hi, start_ms + (k + 1) * bucket_ms)
            out[k] += d * (kb - ka) / span
    return out
