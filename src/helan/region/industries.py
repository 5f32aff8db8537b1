"""Industries (GB/T 4754-2017): the 20 sections (门类, A–T) and 97 divisions (大类, 01–97),
from the shipped list (``data/industries.csv``). Tenants carry a division or a section code;
the regional view reports by section, with drill-down to divisions."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

from helan.core.errors import ValidationFailed


@dataclass(frozen=True, slots=True)
class Industry:
    code: str
    name: str
    section: str  # the section letter; a section's own code for a section


@cache
def industries() -> dict[str, Industry]:
    text = resources.files("helan.region").joinpath("data/industries.csv").read_text("utf-8")
    out: dict[str, Industry] = {}
    for row in csv.DictReader(text.splitlines()):
        out[row["code"]] = Industry(row["code"], row["name"], row["parent"] or row["code"])
    return out


def check_industry(code: str) -> str:
    """``code`` (a section letter or a two-digit division) when it is in GB/T 4754-2017."""
    normal = code.strip().upper()
    if normal not in industries():
        raise ValidationFailed(
            f"unknown industry code {code!r}: a GB/T 4754-2017 section (A-T) or division (01-97)"
        )
    return normal


def section_of(code: str | None) -> str | None:
    """The section of a section or division code; None for None or an unknown code."""
    if code is None:
        return None
    ind = industries().get(code)
    return ind.section if ind is not None else None


def sections() -> list[Industry]:
    return [i for i in industries().values() if i.section == i.code]
