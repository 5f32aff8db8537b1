"""Version ranges as CISA and others write them: every answer is in, out, or cannot tell."""

from __future__ import annotations

import pytest

from helan.security.advisories.versions import parse_range, version_key

CASES = [
    ("vers:all/<V2.4.0", "V2.3.1", True),
    ("vers:all/<V2.4.0", "2.4", False),
    ("vers:all/*", "anything", True),
    ("<=V2.4", "V2.4.0", True),
    ("<=firmware_32", "33", False),
    ("< 2.07.2", "2.07.1", True),
    (">=R3.08.10|<=R3.09.50", "R3.09.00", True),
    (">=R3.08.10|<=R3.09.50", "R3.10", False),
    (">FW16_up_to_and_including_FW26", "FW20", True),
    (">FW16_up_to_and_including_FW26", "FW16", False),
    (">=R301-V0|<R301-V6", "R301-V6", False),
    ("<V33.017_V34.014_V35.013_V36.011", "V34.013", True),
    ("<V33.017_V34.014_V35.013_V36.011", "V34.015", False),
    ("<V33.017_V34.014_V35.013_V36.011", "V32.0", True),
    ("<V33.017_V34.014_V35.013_V36.011", "V37.0", False),
    ("<R510.2_HF14", "R510.2_HF13", True),
    ("R15x", "R151", True),
    ("R15x", "R161", False),
    ("V6", "V6.12", True),
    ("V6", "7.0", False),
    ("v.32.011", "32.011", True),
    ("all versions", "1", True),
    ("vers:pypi/>=1.0|<2.0", "1.5", True),
    ("vers:pypi/>=1.0|<2.0", "2.0", False),
]


@pytest.mark.parametrize(("text", "version", "expected"), CASES)
def test_ranges(text: str, version: str, expected: bool) -> None:
    assert parse_range(text).verdict(version) is expected


@pytest.mark.parametrize(
    "text",
    [
        "vers:pypi/>>1",
        "vers:nosuchscheme/<1",
        "vers:",
        "<Hotfix-145271",
        ">=R16x|<=R162.10",
        "garbage text",
        ">=",
        "<|",
    ],
)
def test_unreadable_ranges_need_review(text: str) -> None:
    r = parse_range(text)
    assert not r.parsed
    assert r.verdict("1.0") is None


@pytest.mark.parametrize("version", [None, "", "beta", "V2.4 beta", "x" * 300, "2.4<script>"])
def test_unreadable_versions_need_review(version: str | None) -> None:
    assert parse_range("<V2.4.1").verdict(version) is None


def test_version_keys_ignore_prefixes_and_trailing_zeros() -> None:
    assert version_key("V2.4.0") == version_key("2.4") == version_key("R2.4") == (2, 4)
    assert version_key("firmware_32") == (32,)
    assert version_key("Hotfix-1") is None
