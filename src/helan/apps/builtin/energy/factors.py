"""CO2 emission factors of grid electricity, held as data (``factors.json``: value, year the
factor describes, region, scope, source, publication date), never as constants in code. A
tenant picks a region and optionally a year in its config, or gives its own factor with its
own source (a contract for green power, a supplier's factor)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from helan.core.errors import ValidationFailed


@dataclass(frozen=True, slots=True, kw_only=True)
class Factor:
    region: str
    year: int
    value: float  # kg CO2 per kWh
    scope: str
    source: str
    published: str = ""
    url: str = ""


@cache
def published() -> tuple[Factor, ...]:
    text = resources.files("helan.apps.builtin.energy").joinpath("factors.json").read_text("utf-8")
    rows: list[dict[str, Any]] = json.loads(text)["factors"]
    return tuple(Factor(**r) for r in rows)


def factor(region: str = "national", year: int | None = None) -> Factor:
    """The factor of ``region`` for ``year``; without a year, or for a year not published yet,
    the newest one at or before it."""
    of_region = sorted((f for f in published() if f.region == region), key=lambda f: f.year)
    if not of_region:
        regions = sorted({f.region for f in published()})
        raise ValidationFailed(f"no emission factor for region {region!r}; known: {regions}")
    if year is None:
        return of_region[-1]
    usable = [f for f in of_region if f.year <= year]
    if not usable:
        raise ValidationFailed(
            f"no emission factor for {region!r} in or before {year} (first: {of_region[0].year})"
        )
    return usable[-1]


def from_config(config: dict[str, Any]) -> Factor:
    """The tenant's ``emission_factor``: a published one (``region``, ``year``) or its own
    (``value``, ``source``)."""
    raw = config.get("emission_factor") or {}
    if "value" in raw:
        return Factor(
            region="custom",
            year=int(raw.get("year", 0)),
            value=float(raw["value"]),
            scope="tenant's own factor",
            source=str(raw.get("source", "")),
        )
    return factor(str(raw.get("region", "national")), raw.get("year"))


def emissions_kg(kwh: float, f: Factor) -> float:
    """CO2 of ``kwh`` of grid electricity under factor ``f``."""
    return kwh * f.value
