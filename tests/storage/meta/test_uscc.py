"""Unified social credit codes (GB 32100-2015) with real, published codes."""

from __future__ import annotations

import pytest

from helan.core.errors import ValidationFailed
from helan.storage.meta.codes import uscc_check_char, validate_region, validate_uscc

# Published on the companies' own sites and in the national enterprise credit system.
REAL = [
    "91350100M000100Y43",  # the standard's own worked example
    "91440300708461136T",  # Tencent Technology (Shenzhen)
    "914403001922038216",  # Huawei Technologies
    "91330100716105852F",  # Alibaba (China)
    "91110000600037341L",
]


@pytest.mark.parametrize("code", REAL)
def test_real_codes_validate(code: str) -> None:
    assert validate_uscc(code) == code
    assert validate_uscc(code.lower()) == code


@pytest.mark.parametrize("code", REAL)
def test_any_single_substitution_is_caught(code: str) -> None:
    for pos in range(17):
        for ch in "0123456789ABCDEFGHJKLMNPQRTUWXY":
            if ch == code[pos]:
                continue
            changed = code[:pos] + ch + code[pos + 1 :]
            if uscc_check_char(changed[:17]) == changed[17]:
                pytest.fail(f"{changed} passes its check")


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("91350100M000100Y4", "18 characters"),
        ("91350100M000100Y430", "18 characters"),
        ("91350100M00010OY43", "outside GB 32100-2015"),  # letter O
        ("91350100M00010IY43", "outside GB 32100-2015"),  # letter I
        ("Z1350100M000100Y43", "outside GB 32100-2015"),
        ("91990100M000100Y43", "administrative division"),
        ("91350100M000100Y4A", "expected '3'"),
    ],
)
def test_bad_codes_say_why(code: str, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        validate_uscc(code)


def test_regions() -> None:
    assert validate_region("110105") == "110105"
    for bad in ("000000", "99010", "1101050", "11010a"):
        with pytest.raises(ValidationFailed):
            validate_region(bad)
