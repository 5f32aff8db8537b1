"""Anomaly, bearing and process models: parsing (wrong columns named), metric functions
against hand-computed values, NAB's score on a tiny hand example, small training runs."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from helan.core.errors import ValidationFailed
from helan.models.anomaly import detector, metrics
from helan.models.anomaly.eval_skab import evaluate
from helan.models.anomaly.skab import read_run
from helan.models.bearing.cwru import label_of, read_recording
from helan.models.process import monitor
from helan.models.process.tep import read_matrix

SKAB = Path(__file__).resolve().parents[2] / "src" / "helan" / "sim" / "data" / "skab"
STANDARD = metrics.PROFILES["standard"]


def test_point_scores_by_hand() -> None:
    truth = [1, 1, 1, 0, 0, 0, 0, 1]
    predicted = [1, 1, 0, 1, 0, 0, 0, 0]
    s = metrics.point_scores(truth, predicted)
    assert (s.tp, s.fp, s.fn, s.tn) == (2, 1, 2, 3)
    assert s.f1 == pytest.approx(4 / 7)  # 2*2 / (2*2 + 1 + 2)
    assert s.far == pytest.approx(1 / 4)
    assert s.mar == pytest.approx(2 / 4)


def test_nab_score_by_hand() -> None:
    # window rows 10..19 (width 10); a detection at its start, one just after, one before.
    assert metrics.scaled_sigmoid(0.0) == pytest.approx(0.0)
    assert metrics.scaled_sigmoid(4.0) == -1.0
    score = metrics.nab_score([2, 10, 12, 20], [(10, 19)], STANDARD)
    tp = 2 / (1 + np.exp(5 * -1.0)) - 1  # position -(19 - 10 + 1)/10 = -1
    after = 0.11 * (2 / (1 + np.exp(5 * (1 / 9))) - 1)  # (20 - 19) / (10 - 1)
    assert score.raw == pytest.approx(tp - 0.11 + after)
    assert (score.tp, score.fp, score.fn) == (1, 2, 0)
    missed = metrics.nab_score([], [(10, 19)], STANDARD)
    assert missed.raw == -1.0
    assert metrics.normalised([missed], STANDARD) == pytest.approx(0.0)
    perfect = metrics.WindowScore(raw=1.0, tp=1, fp=0, fn=0, windows=1)
    assert metrics.normalised([perfect], STANDARD) == pytest.approx(100.0)
    # the probationary period hides detections
    assert metrics.nab_score([2], [(10, 19)], STANDARD, probation=5).fp == 0
    assert metrics.probation_rows(1000) == 150
    assert metrics.probation_rows(100_000) == 750


def test_windows_and_edges() -> None:
    assert metrics.centred_windows([50], 100) == [(45, 55)]
    assert metrics.centred_windows([50, 52], 100) == [(48, 54)]  # merged
    assert metrics.edges([1, 1, 0, 0, 1]) == [0, 2, 4]


def test_skab_wrong_column_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "1.csv"
    text = (SKAB / "valve1" / "13.csv").read_text().replace("Current", "Curent", 1)
    bad.write_text(text)
    with pytest.raises(ValidationFailed, match="missing column 'Current'"):
        read_run(bad)


def test_skab_small_run_detects_the_valve_closing(tmp_path: Path) -> None:
    (tmp_path / "valve1").mkdir()
    shutil.copy(SKAB / "valve1" / "13.csv", tmp_path / "valve1" / "13.csv")
    figures = evaluate(tmp_path)
    assert figures["runs"] == 1
    assert float(figures["f1"]) > 0.7  # type: ignore[arg-type]
    assert float(figures["far"]) < 0.3  # type: ignore[arg-type]


def test_detector_threshold_comes_from_training_rows() -> None:
    rng = np.random.default_rng(0)
    train = rng.standard_normal((400, 4))
    fitted = detector.fit(train)
    assert fitted.threshold == pytest.approx(1.5 * np.quantile(fitted.score(train), 0.99))
    shifted = detector.fit(train).score(train + 3.0)
    assert (shifted[50:] > fitted.threshold).all()
    with pytest.raises(ValidationFailed, match="at least 10 rows"):
        detector.fit(train[:5])


def test_cwru_names_and_variables(tmp_path: Path) -> None:
    assert label_of("130_OR007at6_0.mat.gz") == "OR007"
    with pytest.raises(ValidationFailed, match="not a CWRU file name"):
        label_of("bearing.mat")
    fake = tmp_path / "105_IR007_0.mat.gz"
    fake.write_bytes(gzip.compress(b"not a mat file"))
    with pytest.raises(ValidationFailed, match="not a MAT file"):
        read_recording(fake)


def test_tep_columns_and_dynamic_pca(tmp_path: Path) -> None:
    bad = tmp_path / "d00.dat"
    bad.write_text("1 2 3\n4 5 6\n")
    with pytest.raises(ValidationFailed, match="3 columns, expected 52"):
        read_matrix(bad)
    rng = np.random.default_rng(3)
    latent = rng.standard_normal((600, 3))
    x = latent @ rng.standard_normal((3, 8)) + 0.05 * rng.standard_normal((600, 8))
    m = monitor.fit(x[:500], lags=2)
    normal = m.alarms(x[500:]).mean()
    faulty = x[500:].copy()
    faulty[:, 2] += 5 * x[:500, 2].std()
    assert m.alarms(faulty).mean() > 0.9
    assert normal < 0.3
