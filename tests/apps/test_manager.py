"""The manager loads apps from entry points when asked (not at import), built-ins through the
same path, and refuses apps that do not fit the hook specifications."""

from __future__ import annotations

import types
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from helan.apps import hookimpl
from helan.apps.manager import BUILTIN_APPS, ENTRY_POINT_GROUP, AppManager
from helan.core.errors import Conflict, ValidationFailed


def _dist_info(root: Path, name: str, entry_points: str) -> None:
    """A minimal installed distribution: what pip leaves in site-packages."""
    info = root / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(entry_points)


def test_apps_come_from_installed_entry_points(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _dist_info(
        tmp_path,
        "helan_sample",
        f"[{ENTRY_POINT_GROUP}]\nsample = tests.apps.sample_app\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    manager = AppManager()
    assert manager.app_ids == []  # nothing is loaded by creating the manager
    manager.load_entry_points()
    assert "sample" in manager.app_ids
    assert manager.call("sample", "scope_families") == [["sample"]]
    assert manager.failed == {}


def test_a_broken_entry_point_is_reported_and_the_others_load() -> None:
    eps = [
        EntryPoint("gone", "tests.apps.no_such_module", ENTRY_POINT_GROUP),
        EntryPoint("sample", "tests.apps.sample_app", ENTRY_POINT_GROUP),
    ]
    manager = AppManager()
    manager.load_entry_points(eps)
    assert manager.app_ids == ["sample"]
    assert manager.failed["gone"].startswith("ModuleNotFoundError")


def test_builtins_register_through_the_same_manager() -> None:
    manager = AppManager()
    manager.load_builtins()
    assert manager.app_ids == [path.rsplit(".", 1)[1] for path in BUILTIN_APPS]
    assert manager.app_ids[0] == "data_quality"
    assert manager.call("data_quality", "scope_families") == [["data_quality"]]
    # Each manager is its own: a second one starts empty.
    assert AppManager().app_ids == []


def test_apps_that_do_not_fit_are_refused() -> None:
    manager = AppManager()
    manager.register(types.SimpleNamespace(), "empty")
    with pytest.raises(Conflict):
        manager.register(types.SimpleNamespace(), "empty")
    with pytest.raises(ValidationFailed, match="app id"):
        manager.register(types.SimpleNamespace(), "Bad-Id")

    typo = types.ModuleType("typo")

    @hookimpl
    def rotues() -> list[object]:  # a misspelt hook
        return []

    typo.rotues = rotues  # type: ignore[attr-defined]
    with pytest.raises(ValidationFailed, match="rotues"):
        manager.register(typo, "typo")

    wrong_args = types.ModuleType("wrong_args")

    @hookimpl
    def routes(platform: object) -> list[object]:  # no such argument in the spec
        return []

    wrong_args.routes = routes  # type: ignore[attr-defined]
    with pytest.raises(ValidationFailed, match="platform"):
        manager.register(wrong_args, "wrong_args")
    assert manager.app_ids == ["empty"]
    with pytest.raises(ValidationFailed):
        manager.call("typo", "routes")


def test_no_module_holds_a_global_manager() -> None:
    import helan.apps.component
    import helan.apps.manager
    import helan.apps.sdk

    for module in (helan.apps.manager, helan.apps.component, helan.apps.sdk):
        assert not any(isinstance(v, AppManager) for v in vars(module).values()), module
