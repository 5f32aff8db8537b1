"""Reading the Braatz Tennessee Eastman files: whitespace-separated, 52 columns (XMEAS 1-41,
XMV 1-11), one row per 3-minute sample. ``d00.dat`` is stored transposed (52 x 500) in some
copies; a 52-row file is turned round."""

from __future__ import annotations

import gzip
import io
import re
from pathlib import Path

import numpy as np
import numpy.typing as npt

from helan.core.errors import ValidationFailed

COLUMNS = 52
FAULT_AT = 160  # test files: the fault is introduced after this sample
_TEST = re.compile(r"^d(\d{2})_te\.dat(\.gz)?$")


def read_matrix(path: Path) -> npt.NDArray[np.float64]:
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ValidationFailed(f"{path}: not gzip ({exc})") from exc
    try:
        matrix = np.loadtxt(io.BytesIO(raw), ndmin=2)
    except ValueError as exc:
        raise ValidationFailed(f"{path}: not a whitespace-separated number table ({exc})") from exc
    if matrix.shape[1] != COLUMNS and matrix.shape[0] == COLUMNS:
        matrix = matrix.T
    if matrix.shape[1] != COLUMNS:
        raise ValidationFailed(
            f"{path}: {matrix.shape[1]} columns, expected {COLUMNS} (XMEAS 1-41, XMV 1-11)"
        )
    if not np.all(np.isfinite(matrix)):
        raise ValidationFailed(f"{path}: non-finite values")
    return np.asarray(matrix, dtype=np.float64)


def _find(root: Path, stem: str) -> Path:
    for name in (f"{stem}.dat", f"{stem}.dat.gz"):
        if (root / name).is_file():
            return root / name
    raise ValidationFailed(f"{root}: no {stem}.dat or {stem}.dat.gz")


def read_folder(
    root: Path,
) -> tuple[npt.NDArray[np.float64], dict[int, npt.NDArray[np.float64]]]:
    """The normal training data (``d00``) and every test file by fault number (0 = normal)."""
    if not root.is_dir():
        raise ValidationFailed(f"{root}: not a folder")
    train = read_matrix(_find(root, "d00"))
    tests: dict[int, npt.NDArray[np.float64]] = {}
    for path in sorted(root.iterdir()):
        match = _TEST.match(path.name)
        if match:
            tests[int(match.group(1))] = read_matrix(path)
    if 0 not in tests:
        raise ValidationFailed(f"{root}: no d00_te (normal test data, needed for the FAR)")
    return train, tests
