"""NAB's corpus (``timestamp,value`` CSVs and ``combined_windows.json``) and a causal detector
for it.

The detector is a streaming two-scale z-score in the spirit of NAB's anomaly likelihood: each
value's distance from the mean of the preceding ``long`` values (in their standard deviations),
averaged over the last ``short`` values, and mapped to (0, 1) by the normal CDF. It uses only
past values, as NAB requires. After a detection it stays quiet for ``quiet`` rows: NAB counts
every detection outside a window as a false positive, and one event is one alarm.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv
from scipy.special import ndtr

from helan.core.errors import ValidationFailed

Array = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    timestamps: npt.NDArray[np.int64]  # ns since the epoch
    values: Array
    windows: list[tuple[int, int]]  # inclusive row ranges


def _ns(text: str, where: str) -> int:
    try:
        stamp = dt.datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError as exc:
        raise ValidationFailed(f"{where}: bad timestamp {text!r}") from exc
    return int(stamp.replace(tzinfo=dt.UTC).timestamp() * 1e9)


def read_series(path: Path, name: str, windows: list[list[str]]) -> Series:
    try:
        table = pacsv.read_csv(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValidationFailed(f"{path}: not a NAB CSV ({exc})") from exc
    for column in ("timestamp", "value"):
        if column not in table.column_names:
            raise ValidationFailed(f"{path}: missing column {column!r} (NAB: timestamp,value)")
    stamps = table["timestamp"].cast(pa.timestamp("ns")).cast(pa.int64()).to_numpy()
    try:
        values = table["value"].to_numpy(zero_copy_only=False).astype(np.float64)
    except (ValueError, TypeError) as exc:
        raise ValidationFailed(f"{path}: column 'value' is not numeric") from exc
    rows = []
    for start, end in windows:
        lo = int(np.searchsorted(stamps, _ns(start, name), side="left"))
        hi = int(np.searchsorted(stamps, _ns(end, name), side="right")) - 1
        if hi >= lo:
            rows.append((lo, hi))
    return Series(name, stamps, values, rows)


def read_corpus(data: Path, labels: Path) -> list[Series]:
    """Every file ``labels`` names (``combined_windows.json``), read from under ``data`` (as
    ``.csv`` or ``.csv.gz``)."""
    try:
        windows = json.loads(labels.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValidationFailed(f"{labels}: not a NAB windows file ({exc})") from exc
    if not isinstance(windows, dict) or not windows:
        raise ValidationFailed(f"{labels}: expected an object of file -> [[start, end], ...]")
    corpus = []
    for name in sorted(windows):
        path = data / name
        if not path.is_file():
            path = data / f"{name}.gz"  # Helan's copy is gzip-compressed
        if not path.is_file():
            raise ValidationFailed(f"{labels} names {name!r}, which is not under {data}")
        corpus.append(read_series(path, name, windows[name]))
    return corpus


def _rolling(values: Array, n: int) -> tuple[Array, Array]:
    """Mean and std of the ``n`` values before each row (expanding at the start)."""
    c1 = np.concatenate([[0.0], np.cumsum(values)])
    c2 = np.concatenate([[0.0], np.cumsum(values * values)])
    idx = np.arange(values.size)
    lo = np.maximum(idx - n, 0)
    count = np.maximum(idx - lo, 1)
    mean = (c1[idx] - c1[lo]) / count
    var = np.maximum((c2[idx] - c2[lo]) / count - mean * mean, 0.0)
    return mean, np.sqrt(var)


def scores(values: Array, *, long: int = 400, short: int = 5) -> Array:
    """The causal anomaly score in (0, 1) for each row."""
    mean, std = _rolling(values, long)
    spread = np.maximum(std, 1e-9 + 1e-3 * np.abs(mean))
    z = np.abs(values - mean) / spread
    c = np.concatenate([[0.0], np.cumsum(z)])
    idx = np.arange(values.size) + 1
    lo = np.maximum(idx - short, 0)
    recent = (c[idx] - c[lo]) / (idx - lo)
    out = np.asarray(2.0 * ndtr(recent / 4.0) - 1.0, dtype=np.float64)
    out[: min(short, values.size)] = 0.0
    return out


def detections(score: Array, threshold: float, quiet: int) -> list[int]:
    """Rows where the score crosses ``threshold``, at most one each ``quiet`` rows."""
    found: list[int] = []
    next_allowed = 0
    for i in np.flatnonzero(score >= threshold).tolist():
        if i >= next_allowed:
            found.append(i)
            next_allowed = i + quiet
    return found
