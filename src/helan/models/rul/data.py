"""Reading C-MAPSS files in NASA's own format: ``train_FD00x.txt`` / ``test_FD00x.txt`` (26
space-separated numbers a line: unit, cycle, 3 operational settings, 21 sensors) and
``RUL_FD00x.txt`` (one true RUL a line, in test-unit order). Any subset in that format reads the
same way; ``.gz`` copies are read transparently.

Errors name the file, the line and the column, because a wrong file is the commonest failure
when someone evaluates on their own subset.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from helan.core.errors import ValidationFailed

SETTINGS = tuple(f"op_setting_{i}" for i in range(1, 4))
SENSORS = tuple(f"sensor_{i}" for i in range(1, 22))
COLUMNS = ("unit", "cycle", *SETTINGS, *SENSORS)

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Runs:
    """Rows of a train or test file, in file order (each unit's cycles 1, 2, ...)."""

    unit: Ints
    cycle: Ints
    settings: Floats  # rows x 3
    sensors: Floats  # rows x 21

    def __len__(self) -> int:
        return int(self.unit.shape[0])

    @property
    def units(self) -> Ints:
        return np.unique(self.unit)

    def take(self, mask: npt.NDArray[np.bool_]) -> Runs:
        return Runs(self.unit[mask], self.cycle[mask], self.settings[mask], self.sensors[mask])


def _lines(path: Path) -> list[str]:
    if not path.is_file():
        raise ValidationFailed(f"{path}: no such file")
    raw = gzip.open(path, "rt") if path.suffix == ".gz" else path.open("r")  # noqa: SIM115
    with raw as f:
        return [line for line in f.read().splitlines() if line.strip()]


def read_runs(path: Path) -> Runs:
    """A train or test file; each unit's rows must be together with cycles counting 1, 2, ..."""
    lines = _lines(Path(path))
    if not lines:
        raise ValidationFailed(f"{path}: empty file")
    rows = np.empty((len(lines), len(COLUMNS)), dtype=np.float64)
    for n, line in enumerate(lines):
        fields = line.split()
        if len(fields) != len(COLUMNS):
            missing = COLUMNS[len(fields)] if len(fields) < len(COLUMNS) else None
            what = f"column {missing!r} is missing" if missing else "extra values after 'sensor_21'"
            raise ValidationFailed(
                f"{path} line {n + 1}: {len(fields)} values, expected {len(COLUMNS)} "
                f"(unit, cycle, op_setting_1..3, sensor_1..21): {what}"
            )
        for j, value in enumerate(fields):
            try:
                rows[n, j] = float(value)
            except ValueError:
                raise ValidationFailed(
                    f"{path} line {n + 1} column {COLUMNS[j]!r}: {value!r} is not a number"
                ) from None
    bad = ~np.isfinite(rows)
    if bad.any():
        n, j = (int(x[0]) for x in np.nonzero(bad))
        raise ValidationFailed(f"{path} line {n + 1} column {COLUMNS[j]!r}: not a finite number")
    for j in (0, 1):
        whole = rows[:, j] == np.round(rows[:, j])
        if not whole.all() or (rows[:, j] < 1).any():
            n = int(np.flatnonzero(~whole | (rows[:, j] < 1))[0])
            raise ValidationFailed(
                f"{path} line {n + 1} column {COLUMNS[j]!r}: {rows[n, j]} is not a whole "
                "number >= 1"
            )
    runs = Runs(rows[:, 0].astype(np.int64), rows[:, 1].astype(np.int64), rows[:, 2:5], rows[:, 5:])
    _check_cycles(Path(path), runs)
    return runs


def _check_cycles(path: Path, runs: Runs) -> None:
    new_unit = np.concatenate([[True], runs.unit[1:] != runs.unit[:-1]])
    expected = np.where(new_unit, 1, np.concatenate([[0], runs.cycle[:-1] + 1]))
    wrong = np.flatnonzero(runs.cycle != expected)
    if wrong.size:
        n = int(wrong[0])
        raise ValidationFailed(
            f"{path} line {n + 1} column 'cycle': {runs.cycle[n]} for unit {runs.unit[n]}, "
            f"expected {expected[n]} (cycles count 1, 2, ... per unit)"
        )
    seen: set[int] = set()
    for start in np.flatnonzero(new_unit).tolist():
        unit = int(runs.unit[start])
        if unit in seen:
            raise ValidationFailed(
                f"{path} line {start + 1} column 'unit': unit {unit} appears again after "
                "other units"
            )
        seen.add(unit)


def read_truth(path: Path, units: int) -> Floats:
    """The true RUL of each test unit, in unit order; ``units`` lines are expected."""
    lines = _lines(Path(path))
    values = []
    for n, line in enumerate(lines):
        fields = line.split()
        if len(fields) != 1:
            raise ValidationFailed(f"{path} line {n + 1}: {len(fields)} values, expected 1 (RUL)")
        try:
            value = float(fields[0])
        except ValueError:
            raise ValidationFailed(f"{path} line {n + 1}: {fields[0]!r} is not a number") from None
        if not np.isfinite(value) or value < 0:
            raise ValidationFailed(f"{path} line {n + 1}: RUL {value} must be finite and >= 0")
        values.append(value)
    if len(values) != units:
        raise ValidationFailed(f"{path}: {len(values)} RUL lines for {units} test units")
    return np.asarray(values, dtype=np.float64)
