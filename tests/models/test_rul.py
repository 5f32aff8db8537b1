"""RUL on C-MAPSS: the reader refuses wrong files naming the line and column, the PHM08 score
matches hand-computed values, several operating conditions are found and normalised away, and a
small training run beats the last-cycle baseline."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np
import pytest

from helan.core.errors import ValidationFailed
from helan.models.rul import model as rul
from helan.models.rul.data import COLUMNS, Runs, read_runs, read_truth
from helan.models.rul.features import ConditionNormaliser, capped_rul, last_cycles, windowed
from helan.models.rul.metrics import phm08_score, rmse

DATA = Path(__file__).resolve().parents[2] / "data" / "cmapss"


def _line(unit: int, cycle: int, n: int = len(COLUMNS)) -> str:
    values = [str(unit), str(cycle)] + [f"{0.5 + i:.4f}" for i in range(n - 2)]
    return " ".join(values) + " "


def _write(tmp_path: Path, lines: list[str], name: str = "train_FD009.txt") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def fd001() -> Runs:
    return read_runs(DATA / "train_FD001.txt.gz")


def test_reads_nasa_files_plain_and_gzipped(tmp_path: Path) -> None:
    path = _write(tmp_path, [_line(1, 1), _line(1, 2), _line(2, 1)])
    runs = read_runs(path)
    assert len(runs) == 3
    assert runs.unit.tolist() == [1, 1, 2]
    assert runs.cycle.tolist() == [1, 2, 1]
    assert runs.sensors.shape == (3, 21)
    assert runs.sensors[0, 20] == pytest.approx(23.5)
    gz = tmp_path / "train.txt.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert read_runs(gz).unit.tolist() == [1, 1, 2]


def test_a_short_line_names_the_missing_column(tmp_path: Path) -> None:
    path = _write(tmp_path, [_line(1, 1), _line(1, 2, n=25)])
    with pytest.raises(ValidationFailed, match=r"line 2: 25 values.*'sensor_21' is missing"):
        read_runs(path)


def test_a_long_line_and_a_word_are_refused_with_their_column(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="extra values after 'sensor_21'"):
        read_runs(_write(tmp_path, [_line(1, 1) + " 7"]))
    bad = _line(1, 1).split()
    bad[7] = "n/a"
    with pytest.raises(ValidationFailed, match=r"line 1 column 'sensor_3': 'n/a'"):
        read_runs(_write(tmp_path, [" ".join(bad)]))


def test_cycles_must_count_up_per_unit(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match=r"line 2 column 'cycle': 3 for unit 1, expected 2"):
        read_runs(_write(tmp_path, [_line(1, 1), _line(1, 3)]))
    with pytest.raises(ValidationFailed, match=r"line 3 column 'unit': unit 1 appears again"):
        read_runs(_write(tmp_path, [_line(1, 1), _line(2, 1), _line(1, 1)]))


def test_truth_needs_one_value_per_test_unit(tmp_path: Path) -> None:
    path = tmp_path / "RUL.txt"
    path.write_text("112 \n98 \n")
    assert read_truth(path, 2).tolist() == [112.0, 98.0]
    with pytest.raises(ValidationFailed, match="2 RUL lines for 3 test units"):
        read_truth(path, 3)
    path.write_text("112 \n-1 \n")
    with pytest.raises(ValidationFailed, match=r"line 2: RUL -1\.0"):
        read_truth(path, 2)


def test_phm08_score_and_rmse_by_hand() -> None:
    # d = predicted - true: -13 (early: exp(1) - 1), +10 (late: exp(1) - 1), 0 (nothing)
    assert phm08_score([87, 110, 50], [100, 100, 50]) == pytest.approx(2 * (math.e - 1))
    # late is punished harder than early by the same amount
    assert phm08_score([120], [100]) > phm08_score([80], [100])
    assert phm08_score([80], [100]) == pytest.approx(math.exp(20 / 13) - 1)
    assert rmse([3, 4], [0, 0]) == pytest.approx(math.sqrt(12.5))


def test_target_is_capped_and_last_cycles_are_in_unit_order() -> None:
    runs = Runs(
        unit=np.array([2, 2, 2, 1, 1]),
        cycle=np.array([1, 2, 3, 1, 2]),
        settings=np.zeros((5, 3)),
        sensors=np.zeros((5, 21)),
    )
    assert capped_rul(runs, 1.5).tolist() == [1.5, 1.0, 0.0, 1.0, 0.0]
    assert last_cycles(runs).tolist() == [4, 2]  # unit 1's last row, then unit 2's


def _six_conditions(runs: Runs, seed: int = 3) -> Runs:
    """FD001 flown in six operating conditions (FD002's settings), each shifting and scaling
    every sensor far more than wear does."""
    rng = np.random.default_rng(seed)
    points = np.array(
        [
            [0, 0, 100],
            [10, 0.25, 100],
            [20, 0.7, 100],
            [25, 0.62, 60],
            [35, 0.84, 100],
            [42, 0.84, 100],
        ]
    )
    c = rng.integers(0, 6, len(runs))
    settings = points[c] + rng.normal(0, 0.002, (len(runs), 3))
    shift = rng.normal(0, 50, (6, 21))
    gain = rng.uniform(0.5, 2.0, (6, 21))
    return Runs(runs.unit, runs.cycle, settings, runs.sensors * gain[c] + shift[c])


def test_one_condition_on_fd001_six_when_flown_in_six(fd001: Runs) -> None:
    small = fd001.take(fd001.unit <= 10)
    assert ConditionNormaliser().fit(small).conditions == 1
    mixed = _six_conditions(small)
    normaliser = ConditionNormaliser().fit(mixed)
    assert normaliser.conditions == 6
    # Per-condition normalisation recovers the single-condition signal.
    plain = ConditionNormaliser().fit(small)
    assert normaliser.sensors == plain.sensors
    a, b = normaliser.transform(mixed), plain.transform(small)
    corr = [np.corrcoef(a[:, j], b[:, j])[0, 1] for j in range(a.shape[1])]
    assert min(corr) > 0.9


def test_windows_use_only_the_past(fd001: Runs) -> None:
    small = fd001.take(fd001.unit <= 3)
    z = ConditionNormaliser().fit(small).transform(small)
    full = windowed(small, z)
    cut = small.take(small.cycle <= 40)
    assert np.allclose(windowed(cut, z[small.cycle <= 40]), full[small.cycle <= 40])


def test_a_small_run_beats_the_last_cycle_baseline(fd001: Runs) -> None:
    train = fd001.take(fd001.unit <= 20)
    held = fd001.take((fd001.unit > 20) & (fd001.unit <= 35))
    # cut each held-out unit 40 cycles before failure, as a test file would
    last = np.zeros(len(held))
    for u in held.units:
        rows = held.unit == u
        last[rows] = held.cycle[rows].max()
    cut = held.take(held.cycle <= last - 40)
    truth = np.full(len(cut.units), 40.0)
    params = {"n_estimators": 60, "learning_rate": 0.15, "n_jobs": 1}
    model = rul.fit(train, seed=1, params=params)
    assert model.info["conditions"] == 1
    assert model.info["validation_units"] == 4
    predicted = model.predict_last(cut)
    baseline = rul.LastCycleBaseline.fit(train, seed=1).predict_last(cut)
    assert rmse(predicted, truth) < 25
    assert rmse(predicted, truth) < rmse(baseline, truth)
