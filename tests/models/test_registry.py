"""The registry keeps versions apart and refuses artefacts it cannot trust."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sklearn.linear_model import LinearRegression

from helan.core.errors import NotFound, ValidationFailed
from helan.models.registry import ModelVersionError, Registry


def _fit() -> LinearRegression:
    return LinearRegression().fit([[0.0], [1.0], [2.0]], [1.0, 3.0, 5.0])


def test_versions_count_up_and_load_the_newest(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    one = reg.save("rul", _fit(), dataset="FD001", metrics={"rmse": 13.0}, params={}, seed=1)
    two = reg.save("rul", _fit(), dataset="FD002", metrics={"rmse": 12.0}, params={}, seed=1)
    assert (one.version, two.version) == (1, 2)
    model, card = reg.load("rul")
    assert card.dataset == "FD002"
    assert card.libraries["scikit-learn"]
    assert model.predict([[3.0]])[0] == pytest.approx(7.0)
    assert reg.load("rul", 1)[1].dataset == "FD001"
    assert [c.version for c in reg.cards()] == [1, 2]


def test_a_changed_artefact_is_refused(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    reg.save("m", _fit(), dataset="d", metrics={}, params={}, seed=0)
    artefact = tmp_path / "m" / "v1" / "model.joblib"
    artefact.write_bytes(artefact.read_bytes() + b"x")
    with pytest.raises(ModelVersionError, match="SHA-256"):
        reg.load("m")


def test_another_library_version_is_refused_with_both_versions(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    reg.save("m", _fit(), dataset="d", metrics={}, params={}, seed=0)
    card = tmp_path / "m" / "v1" / "card.json"
    raw = json.loads(card.read_text())
    raw["libraries"]["scikit-learn"] = "0.24.2"
    card.write_text(json.dumps(raw))
    with pytest.raises(ModelVersionError, match=r"scikit-learn 0\.24\.2"):
        reg.load("m")
    raw["format"] = 99
    card.write_text(json.dumps(raw))
    with pytest.raises(ModelVersionError, match="format 99"):
        reg.load("m")


def test_unknown_and_bad_names(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    with pytest.raises(NotFound):
        reg.load("nothing")
    with pytest.raises(ValidationFailed):
        reg.save("../x", _fit(), dataset="d", metrics={}, params={}, seed=0)
