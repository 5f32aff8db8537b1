"""Scores for anomaly detectors: point F1 with false-alarm and missed-alarm rates (SKAB's
``binary`` metric), and NAB's window score (Lavin & Ahmad 2015; ``nab/scorer.py``/``sweeper.py``).

NAB, as implemented here:

- each labelled anomaly has a window; a detection inside a window earns
  ``tp * scaled_sigmoid(-(end - i + 1) / width)`` (about +0.99 at the window's start, 0 at its
  end), and only the window's best (its first) detection counts;
- a detection after a window costs ``fp * scaled_sigmoid((i - end) / (width - 1))`` (negative,
  about 0 just after the window and -fp far behind it); a detection before the first window
  costs ``-fp``;
- a window with no detection costs ``-fn``;
- detections in the probationary period (the first ``min(15 %, 750)`` rows) are ignored;
- a corpus score is normalised as ``100 * (S - null) / (perfect - null)`` with the null detector
  (no detections: ``-fn`` a window) and the perfect one (``+tp`` a window).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class PointScores:
    """Point-wise confusion counts over every scored row."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def f1(self) -> float:
        denominator = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denominator if denominator else 0.0

    @property
    def far(self) -> float:
        """False-alarm rate: normal rows flagged, FP / (FP + TN)."""
        normal = self.fp + self.tn
        return self.fp / normal if normal else 0.0

    @property
    def mar(self) -> float:
        """Missed-alarm rate: anomalous rows not flagged, FN / (FN + TP)."""
        anomalous = self.fn + self.tp
        return self.fn / anomalous if anomalous else 0.0


def point_scores(truth: npt.ArrayLike, predicted: npt.ArrayLike) -> PointScores:
    t = np.asarray(truth, dtype=bool)
    p = np.asarray(predicted, dtype=bool)
    if t.shape != p.shape:
        raise ValueError(f"truth has shape {t.shape}, prediction {p.shape}")
    return PointScores(
        tp=int(np.sum(t & p)),
        fp=int(np.sum(~t & p)),
        fn=int(np.sum(t & ~p)),
        tn=int(np.sum(~t & ~p)),
    )


@dataclass(frozen=True, slots=True)
class Profile:
    tp: float
    fp: float
    fn: float


# NAB's config/profiles.json
PROFILES = {
    "standard": Profile(tp=1.0, fp=0.11, fn=1.0),
    "reward_low_FP_rate": Profile(tp=1.0, fp=0.22, fn=1.0),
    "reward_low_FN_rate": Profile(tp=1.0, fp=0.11, fn=2.0),
}


def scaled_sigmoid(position: float) -> float:
    """NAB's weighting: +0.987 at position -1 (window start), 0 at 0, -1 past 3."""
    if position > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


def probation_rows(length: int, percent: float = 0.15) -> int:
    """NAB's probationary period: rows at the start of a file that are never scored."""
    return int(min(math.floor(percent * length), percent * 5000))


@dataclass(frozen=True, slots=True)
class WindowScore:
    raw: float
    tp: int
    fp: int
    fn: int
    windows: int


def nab_score(
    detections: Iterable[int],
    windows: Sequence[tuple[int, int]],
    profile: Profile,
    *,
    probation: int = 0,
) -> WindowScore:
    """The raw NAB score of one file: ``detections`` are row indices, ``windows`` inclusive
    ``(start, end)`` row ranges, sorted and disjoint."""
    ordered = sorted(windows)
    for (s0, e0), (s1, _) in itertools.pairwise(ordered):
        if s1 <= e0:
            raise ValueError(f"windows overlap: ({s0}, {e0}) and ({s1}, ...)")
    best: list[float | None] = [None] * len(ordered)
    fp_total = 0.0
    fp_count = 0
    starts = np.array([s for s, _ in ordered], dtype=np.int64)
    for i in sorted(set(detections)):
        if i < probation:
            continue
        k = int(np.searchsorted(starts, i, side="right")) - 1  # last window starting at or before i
        if k >= 0 and i <= ordered[k][1]:
            start, end = ordered[k]
            width = end - start + 1
            gain = profile.tp * scaled_sigmoid(-(end - i + 1) / width)
            held = best[k]
            best[k] = gain if held is None else max(held, gain)
        elif k >= 0:
            start, end = ordered[k]
            width = end - start + 1
            fp_total += profile.fp * scaled_sigmoid(abs(i - end) / max(width - 1, 1))
            fp_count += 1
        else:
            fp_total -= profile.fp
            fp_count += 1
    tp_total = sum(b for b in best if b is not None)
    missed = sum(1 for b in best if b is None)
    return WindowScore(
        raw=tp_total + fp_total - profile.fn * missed,
        tp=len(best) - missed,
        fp=fp_count,
        fn=missed,
        windows=len(best),
    )


def normalised(scores: Sequence[WindowScore], profile: Profile) -> float:
    """NAB's 0 (null detector) to 100 (perfect detector) over a set of files."""
    windows = sum(s.windows for s in scores)
    if windows == 0:
        raise ValueError("no anomaly windows: the score is undefined")
    null = -profile.fn * windows
    perfect = profile.tp * windows
    return 100.0 * (sum(s.raw for s in scores) - null) / (perfect - null)


def centred_windows(
    changepoints: Sequence[int], length: int, fraction: float = 0.1
) -> list[tuple[int, int]]:
    """NAB's window rule: windows of ``fraction`` of the file's rows in all, split evenly over the
    changepoints and centred on each (clipped to the file, merged where they would overlap)."""
    if not changepoints:
        return []
    half = max(int(fraction * length / len(changepoints)) // 2, 1)
    windows: list[tuple[int, int]] = []
    for cp in sorted(changepoints):
        start, end = max(cp - half, 0), min(cp + half, length - 1)
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(end, windows[-1][1]))
        else:
            windows.append((start, end))
    return windows


def edges(flags: npt.ArrayLike) -> list[int]:
    """Rows where a 0/1 prediction changes (and row 0 if it starts at 1): the predicted
    changepoints SKAB derives from its outlier predictions."""
    f = np.asarray(flags, dtype=np.int8)
    if f.size == 0:
        return []
    changed = np.flatnonzero(np.diff(f) != 0) + 1
    return ([0] if f[0] else []) + changed.tolist()
