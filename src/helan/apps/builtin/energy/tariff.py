"""Time-of-use tariffs (峰谷分时电价): the day cut into peak / flat / valley (and optionally
sharp-peak) bands in the plant's zone, a price per band. The periods must cover the day
exactly, on 15-minute boundaries, so each 15-minute interval has one band. Prices are the
tenant's (its contract); the default is an example, not a published tariff."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from helan.core.zones import check_zone

BANDS = ("sharp", "peak", "flat", "valley")
SLOT_MIN = 15
_HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


def _minutes(text: str) -> int:
    m = _HHMM.match(text)
    if m is None or (m.group(1) == "24" and m.group(2) != "00"):
        raise ValueError(f"{text!r} is not a HH:MM time (24:00 ends the day)")
    return int(m.group(1)) * 60 + int(m.group(2))


@dataclass(frozen=True, slots=True, kw_only=True)
class Tariff:
    zone: str = "Asia/Shanghai"
    periods: tuple[tuple[str, str, str], ...] = (
        ("00:00", "08:00", "valley"),
        ("08:00", "09:00", "flat"),
        ("09:00", "12:00", "peak"),
        ("12:00", "17:00", "flat"),
        ("17:00", "22:00", "peak"),
        ("22:00", "24:00", "flat"),
    )
    prices: dict[str, float] = field(
        default_factory=lambda: {"peak": 1.05, "flat": 0.65, "valley": 0.30}
    )  # yuan per kWh (example)
    currency: str = "CNY"
    _slots: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_zone(self.zone)
        slots: list[str | None] = [None] * (24 * 60 // SLOT_MIN)
        for i, (a, b, band) in enumerate(self.periods):
            if band not in BANDS:
                raise ValueError(f"periods[{i}]: band {band!r} is not one of {BANDS}")
            if band not in self.prices:
                raise ValueError(f"periods[{i}]: band {band!r} has no price")
            start, end = _minutes(a), _minutes(b)
            if start % SLOT_MIN or end % SLOT_MIN or end <= start:
                raise ValueError(f"periods[{i}]: {a}-{b} must be increasing 15-minute boundaries")
            for k in range(start // SLOT_MIN, end // SLOT_MIN):
                if slots[k] is not None:
                    raise ValueError(f"periods[{i}]: {a}-{b} overlaps another period")
                slots[k] = band
        if None in slots:
            gap = slots.index(None) * SLOT_MIN
            raise ValueError(f"periods leave {gap // 60:02d}:{gap % 60:02d} without a band")
        for band, price in self.prices.items():
            if not price >= 0:
                raise ValueError(f"price of {band!r} must be >= 0")
        object.__setattr__(self, "_slots", tuple(s for s in slots if s is not None))

    def band_at(self, ts_ms: int) -> str:
        local = datetime.fromtimestamp(ts_ms / 1000, ZoneInfo(self.zone))
        return self._slots[(local.hour * 60 + local.minute) // SLOT_MIN]

    def cost(
        self, starts_ms: Sequence[int] | npt.NDArray[np.int64], kwh: npt.NDArray[np.float64]
    ) -> dict[str, Any]:
        """Energy and cost per band of intervals starting at ``starts_ms`` (each within one
        band: 15-minute intervals or shorter, on the quarter hour)."""
        per_band = {b: 0.0 for b in self.prices}
        for t, e in zip(starts_ms, kwh.tolist(), strict=True):
            per_band[self.band_at(int(t))] += e
        costs = {b: per_band[b] * self.prices[b] for b in per_band}
        return {
            "kwh": per_band,
            "cost": costs,
            "total_cost": sum(costs.values()),
            "currency": self.currency,
        }


def from_config(config: dict[str, Any]) -> Tariff:
    raw = config.get("tariff")
    if not raw:
        return Tariff(zone=config.get("zone", "Asia/Shanghai"))
    return Tariff(
        zone=raw.get("zone", config.get("zone", "Asia/Shanghai")),
        periods=tuple((p[0], p[1], p[2]) for p in raw["periods"]),
        prices={str(k): float(v) for k, v in raw["prices"].items()},
        currency=str(raw.get("currency", "CNY")),
    )
