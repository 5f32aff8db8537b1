"""The shipped GB/T 2260 and GB/T 4754 lists and the checks built on them."""

from __future__ import annotations

import pytest

from helan.core.errors import ValidationFailed
from helan.region import divisions, industries
from helan.storage.meta.codes import validate_region, validate_uscc


def test_every_province_and_prefecture_is_shipped() -> None:
    table = divisions.divisions()
    provinces = [d for d in table.values() if d.level == "province"]
    prefectures = [d for d in table.values() if d.level == "prefecture"]
    assert len(provinces) == 34
    assert len(prefectures) == 342
    assert table["640000"].name == "宁夏回族自治区"
    assert table["640122"].name == "贺兰县"
    assert divisions.ancestry("640122") == ["640122", "640100", "640000"]


def test_children_and_parents_agree() -> None:
    below = [d.code for d in divisions.children("640100")]
    assert below == ["640104", "640105", "640106", "640121", "640122", "640181"]
    for d in divisions.divisions().values():
        if d.parent is not None:
            assert d.parent in divisions.divisions(), d


def test_unknown_codes_are_refused_by_name() -> None:
    for bad in ("640199", "111111", "649900"):
        with pytest.raises(ValidationFailed, match=f"unknown administrative division code '{bad}'"):
            validate_region(bad)
    with pytest.raises(ValidationFailed, match="invalid administrative division"):
        validate_region("990000")


def test_counties_outside_the_shipped_lists_need_a_real_prefecture() -> None:
    assert "33" not in divisions.county_provinces()
    assert validate_region("330106") == "330106"  # 杭州市西湖区: prefecture 3301 is known
    with pytest.raises(ValidationFailed):
        validate_region("331906")  # no prefecture 3319


def test_a_credit_code_keeps_a_retired_division() -> None:
    # A credit code carries its registration division: checked for shape only.
    assert validate_uscc("91110000600037341L") == "91110000600037341L"


def test_industries() -> None:
    table = industries.industries()
    assert len(industries.sections()) == 20
    assert len(table) == 117
    assert table["34"].name == "通用设备制造业"
    assert industries.section_of("34") == "C"
    assert industries.section_of("C") == "C"
    assert industries.check_industry("c") == "C"
    with pytest.raises(ValidationFailed, match="unknown industry code '98'"):
        industries.check_industry("98")
