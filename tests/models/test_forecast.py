"""Day-ahead forecast: the steel CSV reader (midnight quirk, gaps, bad rows), the error measures
by hand, features that see only history, and a small training run that beats seasonal-naive."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from helan.core.errors import ValidationFailed
from helan.models.forecast import model as fm
from helan.models.forecast.data import SLOTS_PER_DAY, read_steel
from helan.models.forecast.features import NAMES, design
from helan.models.forecast.metrics import mae, mape, wape

STEEL = (
    Path(__file__).resolve().parents[2]
    / "src/helan/sim/data/steel-energy/Steel_industry_data_2018-01.csv"
)
HEADER = "date,Usage_kWh,Lagging_Current_Reactive_Power_kVarh,CO2(tCO2),NSM\n"


def _csv(tmp_path: Path, rows: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "steel.csv"
    path.write_text(header + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def _day(date: str, start: float = 0.0) -> list[str]:
    rows = []
    for i in range(1, SLOTS_PER_DAY + 1):
        h, m = divmod(i * 15, 60)
        stamp = f"{date} {h % 24:02d}:{m:02d}"
        rows.append(f"{stamp},{start + i},1,0,{(i * 900) % 86400}")
    return rows


def test_a_days_closing_midnight_belongs_to_that_day(tmp_path: Path) -> None:
    series = read_steel(_csv(tmp_path, _day("01/01/2018") + _day("02/01/2018", 100)))
    assert series.start == datetime(2018, 1, 1)
    assert len(series) == 2 * SLOTS_PER_DAY
    assert series.values[0] == 1.0  # 00:00-00:15, stamped 00:15
    assert series.values[95] == 96.0  # 23:45-24:00, stamped "01/01/2018 00:00"
    assert series.values[96] == 101.0


def test_a_missing_interval_is_nan_and_the_real_file_reads_whole(tmp_path: Path) -> None:
    rows = _day("01/01/2018")
    del rows[10]
    series = read_steel(_csv(tmp_path, rows))
    assert np.isnan(series.values[10])
    assert np.isfinite(np.delete(series.values, 10)).all()
    full = read_steel(STEEL)
    assert len(full) == 2688
    assert full.values[0] == pytest.approx(3.17)
    assert np.isfinite(full.values).all()


def test_bad_files_name_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="no column 'Usage_kWh'"):
        read_steel(_csv(tmp_path, ["01/01/2018 00:15,1,2,3"], header="date,kWh,a,b\n"))
    with pytest.raises(ValidationFailed, match=r"line 3 column 'Usage_kWh': 'x'"):
        read_steel(_csv(tmp_path, ["01/01/2018 00:15,1,1,0,900", "01/01/2018 00:30,x,1,0,1800"]))
    with pytest.raises(ValidationFailed, match=r"line 2 column 'date': '2018-01-01 00:15'"):
        read_steel(_csv(tmp_path, ["2018-01-01 00:15,1,1,0,900"]))
    with pytest.raises(ValidationFailed, match=r"line 3 column 'date'.*not after"):
        read_steel(_csv(tmp_path, ["01/01/2018 00:30,1,1,0,900", "01/01/2018 00:15,1,1,0,900"]))
    with pytest.raises(ValidationFailed, match=r"line 2 column 'Usage_kWh': -1.0 must be >= 0"):
        read_steel(_csv(tmp_path, ["01/01/2018 00:15,-1,1,0,900"]))


def test_errors_by_hand() -> None:
    predicted, actual = [2.0, 6.0, 5.0], [4.0, 4.0, 0.0]
    assert mae(predicted, actual) == pytest.approx(3.0)  # (2 + 2 + 5) / 3
    assert mape(predicted, actual) == pytest.approx(50.0)  # the zero actual is skipped
    assert wape(predicted, actual) == pytest.approx(9 / 8 * 100)


def test_features_see_only_the_history_before_the_issue() -> None:
    y = np.arange(30 * SLOTS_PER_DAY, dtype=np.float64) + 1.0
    p = 28 * SLOTS_PER_DAY
    x, level, t = design(y, datetime(2018, 1, 1), np.array([p]))
    assert x.shape == (SLOTS_PER_DAY, len(NAMES))
    assert t.tolist() == list(range(p, p + SLOTS_PER_DAY))
    assert level[0] == pytest.approx(y[p - 7 * SLOTS_PER_DAY : p].mean())
    day1 = x[:, NAMES.index("day1")] * level
    assert np.allclose(day1, y[t - SLOTS_PER_DAY])
    assert x[0, NAMES.index("weekday")] == 0  # 29 Jan 2018 was a Monday
    # History cut to 4 hours: the lags a young meter lacks are missing, not invented.
    young, young_level, _ = design(y, datetime(2018, 1, 1), np.array([p]), history=np.array([16]))
    assert young_level[0] == pytest.approx(y[p - 16 : p].mean())
    assert np.isnan(young[:, NAMES.index("week1")]).all()
    assert np.isnan(young[:80, NAMES.index("day1")]).all()
    assert np.isfinite(young[80:, NAMES.index("day1")]).all()


def test_a_small_run_beats_seasonal_naive() -> None:
    series = read_steel(STEEL)
    split = 21 * SLOTS_PER_DAY
    test = fm.day_starts(series.values, series.start, split, len(series))
    assert len(test) == 7
    t = np.repeat(test, SLOTS_PER_DAY) + np.tile(np.arange(SLOTS_PER_DAY), len(test))
    actual = series.values[t].reshape(len(test), SLOTS_PER_DAY)
    params = {"n_estimators": 200, "n_jobs": 1}
    model = fm.fit(series.values, series.start, split, seed=0, params=params)
    predicted = model.predict(series.values, series.start, test)
    week = fm.seasonal_naive(series.values, test, 7 * SLOTS_PER_DAY)
    assert mae(predicted, actual) < mae(week, actual)
    assert (predicted >= 0).all()
