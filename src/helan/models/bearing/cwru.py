"""Reading CWRU's MAT files (optionally gzip-compressed) and splitting them without leakage.

The class is read from the file name (``105_IR007_0.mat[.gz]``: inner race, 0.007 in); the
signal is the drive-end accelerometer ``X###_DE_time``. The split: the first ``train`` fraction
of each recording gives the training windows and the rest the test windows, with a gap of one
window between them, so no test window shares a sample with (or overlaps) a training window.
"""

from __future__ import annotations

import gzip
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import scipy.io

from helan.core.errors import ValidationFailed

RATE_HZ = 12_000


@dataclass(frozen=True, slots=True)
class Recording:
    file: str
    label: str
    signal: npt.NDArray[np.float64]


def label_of(name: str) -> str:
    """``130_OR007at6_0.mat.gz`` -> ``OR007``; a name that is not CWRU's is refused."""
    match = re.match(r"^\d+_(Normal|IR\d{3}|B\d{3}|OR\d{3})", name)
    if match is None:
        raise ValidationFailed(
            f"{name}: not a CWRU file name (NUMBER_CLASS_LOAD.mat, e.g. 105_IR007_0.mat)"
        )
    return match.group(1)


def read_recording(path: Path) -> Recording:
    label = label_of(path.name)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        content = scipy.io.loadmat(io.BytesIO(raw))
    except (OSError, ValueError, EOFError, scipy.io.matlab.MatReadError) as exc:
        raise ValidationFailed(f"{path}: not a MAT file ({exc})") from exc
    keys = [k for k in content if k.endswith("_DE_time")]
    if len(keys) != 1:
        raise ValidationFailed(
            f"{path}: expected one drive-end variable X###_DE_time, found {keys or 'none'}"
        )
    signal = np.asarray(content[keys[0]], dtype=np.float64).ravel()
    return Recording(path.name, label, signal)


def read_folder(root: Path) -> list[Recording]:
    if not root.is_dir():
        raise ValidationFailed(f"{root}: not a folder")
    paths = sorted(p for p in root.iterdir() if p.name.endswith((".mat", ".mat.gz")))
    if not paths:
        raise ValidationFailed(f"{root}: no CWRU .mat or .mat.gz files")
    return [read_recording(p) for p in paths]


def windows(signal: npt.NDArray[np.float64], size: int, stride: int) -> npt.NDArray[np.float64]:
    """Windows of ``size`` samples every ``stride`` samples (rows x size)."""
    if signal.size < size:
        return np.empty((0, size))
    starts = np.arange(0, signal.size - size + 1, stride)
    return np.stack([signal[s : s + size] for s in starts])


def split(
    recording: Recording, *, size: int, stride: int, train: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(training windows, test windows) from disjoint segments of one recording."""
    cut = int(recording.signal.size * train)
    return (
        windows(recording.signal[:cut], size, stride),
        windows(recording.signal[cut + size :], size, size),  # test windows do not overlap
    )
