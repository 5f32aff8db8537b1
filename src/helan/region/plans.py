"""A regional plan as data: targets per indicator, year, division and industry, checked as a
whole before anything is stored.

A plan belongs to one division (``region``); each target names a division inside it (default:
the plan's own), an indicator of :data:`helan.region.indicators.INDICATORS`, a year not in
the past, an industry (GB/T 4754 section or division; default every industry) and a positive
value. Every problem is reported with its position (``targets[3].year``), all at once, so a
plan written by hand in a spreadsheet can be corrected in one pass.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources
from typing import Any

from helan.core.errors import ValidationFailed
from helan.region.divisions import in_region, known
from helan.region.indicators import ALL, BY_ID
from helan.region.industries import industries

MAX_TARGETS = 5000


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    indicator: str
    year: int
    region: str
    industry: str
    target: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    id: str
    region: str
    name: str
    description: str
    targets: tuple[Target, ...]


def check_plan(doc: dict[str, Any], *, region: str, this_year: int) -> Plan:
    """The plan in ``doc`` (already shaped by the API schema or read from a file) for
    ``region``, or ValidationFailed listing every problem with its position."""
    problems: list[str] = []
    if doc.get("region") not in (None, region):
        problems.append(f"region: the plan is for {doc.get('region')!r}, posted to {region!r}")
    if not known(region):
        problems.append(f"region: unknown administrative division code {region!r}")
    targets: list[Target] = []
    seen: dict[tuple[str, int, str, str], int] = {}
    rows = doc.get("targets") or []
    if not rows:
        problems.append("targets: a plan needs at least one target")
    if len(rows) > MAX_TARGETS:
        problems.append(f"targets: at most {MAX_TARGETS}")
        rows = []
    for i, row in enumerate(rows):
        at = f"targets[{i}]"
        indicator = str(row.get("indicator", ""))
        year = row.get("year")
        division = str(row.get("region") or region)
        industry = str(row.get("industry") or ALL).upper()
        value = row.get("target")
        if indicator not in BY_ID:
            problems.append(f"{at}.indicator: unknown indicator {indicator!r}")
        if not isinstance(year, int) or isinstance(year, bool):
            problems.append(f"{at}.year: a year is a whole number")
            year = 0
        elif year < this_year:
            problems.append(f"{at}.year: {year} is in the past (this year is {this_year})")
        elif year > this_year + 30:
            problems.append(f"{at}.year: {year} is more than 30 years ahead")
        if not known(division):
            problems.append(f"{at}.region: unknown administrative division code {division!r}")
        elif not in_region(region, division):
            problems.append(f"{at}.region: {division!r} does not lie in the plan's {region!r}")
        if industry != ALL and industry not in industries():
            problems.append(f"{at}.industry: unknown GB/T 4754-2017 code {industry!r}")
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not math.isfinite(value)
            or value <= 0
        ):
            problems.append(f"{at}.target: a target is a positive number")
            value = 0.0
        key = (indicator, year, division, industry)
        if key in seen:
            problems.append(f"{at}: repeats targets[{seen[key]}] (same indicator, year, region)")
        seen.setdefault(key, i)
        targets.append(
            Target(
                indicator=indicator,
                year=year,
                region=division,
                industry=industry,
                target=float(value),
            )
        )
    if problems:
        raise ValidationFailed("; ".join(problems))
    return Plan(
        id=str(doc["id"]),
        region=region,
        name=str(doc.get("name", "")),
        description=str(doc.get("description", "")),
        targets=tuple(targets),
    )


def demo_plan() -> dict[str, Any]:
    """The example plan shipped with Helan (Ningxia's published figures), as a document."""
    text = resources.files("helan.region").joinpath("data/demo_plan.json").read_text("utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc
