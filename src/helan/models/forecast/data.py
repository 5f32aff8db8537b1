"""Reading the UCI steel data in its own CSV format into a regular 15-minute series.

Only ``date`` and ``Usage_kWh`` are read: the other measured columns describe the same interval
and would leak the answer. A missing interval becomes NaN (the features tolerate gaps), a
repeated or backwards timestamp is refused, and every error names the line and the column.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt

from helan.core.errors import ValidationFailed

SLOT = timedelta(minutes=15)
SLOTS_PER_DAY = 96
REQUIRED = ("date", "Usage_kWh")

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Series:
    """Load per 15-minute slot from ``start`` (a local midnight), NaN where nothing was metered."""

    start: datetime
    values: Floats

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def slot_start(self, i: int) -> datetime:
        return self.start + i * SLOT

    def index_of(self, when: datetime) -> int:
        return int((when - self.start) / SLOT)


def _text(path: Path) -> str:
    if not path.is_file():
        raise ValidationFailed(f"{path}: no such file")
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8-sig") as f:
            return f.read()
    return path.read_text(encoding="utf-8-sig")


def read_steel(path: Path) -> Series:
    """The ``Usage_kWh`` column of a UCI steel CSV as a :class:`Series` of kWh per interval."""
    path = Path(path)
    reader = csv.reader(io.StringIO(_text(path)))
    header = next(reader, None)
    if header is None:
        raise ValidationFailed(f"{path}: empty file")
    names = [h.strip() for h in header]
    for column in REQUIRED:
        if column not in names:
            raise ValidationFailed(f"{path}: no column {column!r} in the header ({names[:6]})")
    i_date, i_kwh = names.index("date"), names.index("Usage_kWh")
    ends: list[datetime] = []
    values: list[float] = []
    for n, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != len(names):
            raise ValidationFailed(f"{path} line {n}: {len(row)} fields, header has {len(names)}")
        try:
            end = datetime.strptime(row[i_date].strip(), "%d/%m/%Y %H:%M")
        except ValueError:
            raise ValidationFailed(
                f"{path} line {n} column 'date': {row[i_date]!r} is not dd/mm/yyyy HH:MM"
            ) from None
        try:
            value = float(row[i_kwh])
        except ValueError:
            raise ValidationFailed(
                f"{path} line {n} column 'Usage_kWh': {row[i_kwh]!r} is not a number"
            ) from None
        if not np.isfinite(value) or value < 0:
            raise ValidationFailed(f"{path} line {n} column 'Usage_kWh': {value} must be >= 0")
        # The file's quirk: a day's closing midnight carries that day's date.
        if end.hour == 0 and end.minute == 0 and ends and ends[-1].date() == end.date():
            end += timedelta(days=1)
        if ends and end <= ends[-1]:
            raise ValidationFailed(
                f"{path} line {n} column 'date': {row[i_date]!r} is not after the line before"
            )
        if end.minute % 15:
            raise ValidationFailed(f"{path} line {n} column 'date': not on a 15-minute boundary")
        ends.append(end)
        values.append(value)
    if not ends:
        raise ValidationFailed(f"{path}: no data rows")
    first = ends[0] - SLOT
    start = datetime(first.year, first.month, first.day)
    count = int((ends[-1] - start) / SLOT)
    grid = np.full(count, np.nan)
    idx = np.asarray([int((e - SLOT - start) / SLOT) for e in ends])
    grid[idx] = values
    return Series(start, grid)
