"""Administrative divisions (GB/T 2260): province → prefecture → county, from the shipped
list (``data/divisions.csv``, sources in ``data/SOURCE.md``).

A code is known when it is in the list. County lists ship for some provinces only
(:data:`COUNTY_PROVINCES`); elsewhere a county-level code is accepted when its prefecture is
in the list, so that a real enterprise is never refused for a gap in our copy (said in the
error-free path, documented in docs/region.md). Imports nothing of the platform: the
metadata store's field checks use it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

from helan.core.errors import ValidationFailed

Level = Literal["province", "prefecture", "county"]


@dataclass(frozen=True, slots=True)
class Division:
    code: str
    name: str
    parent: str | None
    level: Level


def level_of(code: str) -> Level:
    """The level a six-digit code names by its shape (``640000``, ``640100``, ``640122``)."""
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "prefecture"
    return "county"


@cache
def divisions() -> dict[str, Division]:
    """Every shipped division by code, read once."""
    text = resources.files("helan.region").joinpath("data/divisions.csv").read_text("utf-8")
    out: dict[str, Division] = {}
    for row in csv.DictReader(text.splitlines()):
        code = row["code"]
        out[code] = Division(code, row["name"], row["parent"] or None, level_of(code))
    return out


@cache
def county_provinces() -> frozenset[str]:
    """Province prefixes (two digits) whose county-level divisions are all shipped."""
    return frozenset(c[:2] for c, d in divisions().items() if d.level == "county")


def known(code: str) -> bool:
    """Whether ``code`` names a division (see the module's note on counties)."""
    table = divisions()
    if code in table:
        return True
    if len(code) != 6 or not code.isdigit() or level_of(code) != "county":
        return False
    return code[:2] not in county_provinces() and f"{code[:4]}00" in table


def check_division(code: str) -> str:
    """``code`` when it names a division, else ValidationFailed naming it."""
    if not (len(code) == 6 and code.isascii() and code.isdigit()) or not known(code):
        raise ValidationFailed(f"unknown administrative division code {code!r} (GB/T 2260)")
    return code


def name_of(code: str) -> str:
    """The division's name; a county of a province without a shipped list: its code."""
    d = divisions().get(code)
    return d.name if d is not None else code


def parent_of(code: str) -> str | None:
    """The division above ``code`` (None for a province)."""
    d = divisions().get(code)
    if d is not None:
        return d.parent
    level = level_of(code)
    return None if level == "province" else f"{code[:4]}00" if level == "county" else None


def ancestry(code: str) -> list[str]:
    """``code`` and every division above it, the province last."""
    out = [code]
    while (up := parent_of(out[-1])) is not None:
        out.append(up)
    return out


def children(code: str) -> list[Division]:
    """The shipped divisions directly below ``code``, by code."""
    return sorted((d for d in divisions().values() if d.parent == code), key=lambda d: d.code)


def region_prefix(code: str) -> str:
    """The significant part of a six-digit division code: without its trailing ``00`` pairs."""
    if len(code) != 6 or not (code.isascii() and code.isdigit()):
        raise ValueError(f"invalid administrative division code {code!r}")
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


def in_region(region: str, code: str | None) -> bool:
    """Whether the division or tenant region ``code`` lies in ``region`` (or is it)."""
    return code is not None and region_prefix(code).startswith(region_prefix(region))
