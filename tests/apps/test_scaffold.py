"""``helan app new``: the package it writes loads through the platform's manager by its entry
point, declares a valid manifest and a page that ships with it; bad names are refused.
(The generated tests themselves run in the package: ``pytest NAME/tests``.)"""

from __future__ import annotations

import sys
import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from helan.apps.manager import ENTRY_POINT_GROUP, AppManager
from helan.apps.scaffold import create
from helan.core.errors import Conflict, ValidationFailed


def test_new_app_loads_by_its_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = create("line_counter", tmp_path)
    project = tomllib.loads((root / "pyproject.toml").read_text())
    target = project["project"]["entry-points"][ENTRY_POINT_GROUP]["line_counter"]
    monkeypatch.syspath_prepend(str(root / "src"))
    manager = AppManager()
    manager.load_entry_points([EntryPoint("line_counter", target, ENTRY_POINT_GROUP)])
    assert (manager.app_ids, manager.failed) == (["line_counter"], {})
    [manifest] = manager.call("line_counter", "manifest")
    assert manifest.scopes == ("line_counter:read",)
    [pages] = manager.call("line_counter", "console_pages")
    assert (manager.static_dir("line_counter") / pages[0].module).is_file()  # type: ignore[operator]
    assert (root / "tests" / "test_line_counter.py").is_file()
    sys.modules.pop("helan_app_line_counter", None)


def test_bad_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="lower-case"):
        create("Line-Counter", tmp_path)


def test_existing_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    with pytest.raises(Conflict):
        create("x", tmp_path)
