"""Reading SKAB's files: ``;``-separated CSV, ``datetime`` then the eight signals, then the
``anomaly`` and ``changepoint`` labels (absent in ``anomaly-free.csv``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv

from helan.core.errors import ValidationFailed

SIGNALS = (
    "Accelerometer1RMS",
    "Accelerometer2RMS",
    "Current",
    "Pressure",
    "Temperature",
    "Thermocouple",
    "Voltage",
    "Volume Flow RateRMS",
)
LABELS = ("anomaly", "changepoint")


@dataclass(frozen=True, slots=True)
class Run:
    """One SKAB experiment: signals (rows x 8) and, when labelled, the 0/1 labels."""

    name: str
    signals: npt.NDArray[np.float64]
    anomaly: npt.NDArray[np.int8] | None
    changepoint: npt.NDArray[np.int8] | None


def _column(table: pa.Table, name: str, path: Path) -> npt.NDArray[np.float64]:
    try:
        values: npt.NDArray[np.float64] = (
            table[name].to_numpy(zero_copy_only=False).astype(np.float64)
        )
    except (pa.ArrowInvalid, ValueError, TypeError) as exc:
        raise ValidationFailed(f"{path}: column {name!r} is not numeric ({exc})") from exc
    if not np.all(np.isfinite(values)):
        row = int(np.flatnonzero(~np.isfinite(values))[0])
        raise ValidationFailed(f"{path}: column {name!r} has a missing value at data row {row + 1}")
    return values


def read_run(path: Path, *, labelled: bool = True) -> Run:
    """One SKAB CSV; a missing or non-numeric column is refused with its name."""
    try:
        table = pacsv.read_csv(path, parse_options=pacsv.ParseOptions(delimiter=";"))
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValidationFailed(f"{path}: not a SKAB CSV ({exc})") from exc
    needed = SIGNALS + (LABELS if labelled else ())
    for name in needed:
        if name not in table.column_names:
            raise ValidationFailed(
                f"{path}: missing column {name!r} (SKAB columns: {', '.join(needed)})"
            )
    signals = np.column_stack([_column(table, name, path) for name in SIGNALS])
    if not labelled:
        return Run(path.stem, signals, None, None)
    labels = {}
    for name in LABELS:
        values = _column(table, name, path)
        if not np.isin(values, (0.0, 1.0)).all():
            raise ValidationFailed(f"{path}: column {name!r} holds values other than 0 and 1")
        labels[name] = values.astype(np.int8)
    return Run(path.stem, signals, labels["anomaly"], labels["changepoint"])


def read_folder(root: Path) -> list[Run]:
    """Every labelled run under ``root`` (``anomaly-free.csv`` is skipped), in a fixed order:
    folder name, then the file number as an integer (SKAB's own numbering)."""
    if not root.is_dir():
        raise ValidationFailed(f"{root}: not a folder")

    def key(p: Path) -> tuple[str, int, str]:
        stem = p.stem
        return (str(p.parent.relative_to(root)), int(stem) if stem.isdigit() else -1, stem)

    paths = sorted(
        (p for p in root.rglob("*.csv") if p.name != "anomaly-free.csv"),
        key=key,
    )
    if not paths:
        raise ValidationFailed(f"{root}: no SKAB CSV files")
    runs = []
    for p in paths:
        run = read_run(p)
        runs.append(Run(str(p.relative_to(root)), run.signals, run.anomaly, run.changepoint))
    return runs
