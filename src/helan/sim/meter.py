"""A power meter following the steel plant's 15-minute load profile, interpolated to 1 Hz.

The profile is laid on the wall clock (China time, Monday 00:00 = the recording's first Monday
00:00), so a dashboard shows the day shift's load by day and the night's by night. The energy
counter is the exact integral of the interpolated profile since 2024-01-01: it only rises, and a
restarted simulator continues it instead of starting again at zero. Power readings add a slow
(AR(1)) fluctuation and white measurement noise on top.
"""

from __future__ import annotations

import math
import random

import numpy as np

from helan.sim.data import SteelProfile, steel
from helan.sim.metrics import METER, KindDef, SimEvent, Value

_WEEK_S = 7 * 86_400
_CHINA_UTC_OFFSET_S = 8 * 3600
_FIRST_MONDAY_UTC_S = 4 * 86_400  # 1970-01-05 00:00 was a Monday
COUNTER_EPOCH_S = 1_704_067_200  # 2024-01-01 00:00 UTC: counters count from here


class MeterModel:
    kind: KindDef = METER

    def __init__(self, *, week_offset: int, scale: float, rng: random.Random) -> None:
        profile = steel()
        self._power = profile.power_kw.tolist()
        self._reactive = profile.reactive_kvar.tolist()
        self._co2_factor = profile.co2_kg_per_kwh
        self._n = len(self._power)
        self._period_s = self._n * SteelProfile.INTERVAL_S
        self._shift_s = _CHINA_UTC_OFFSET_S - _FIRST_MONDAY_UTC_S + week_offset * _WEEK_S
        self._scale = scale
        self._rng = rng
        self._drift = 0.0
        # Energy (kWh, unscaled) at each interval midpoint, by trapezoids between midpoints.
        seg = (
            (np.array(self._power) + np.roll(self._power, -1)) / 2 * SteelProfile.INTERVAL_S / 3600
        )
        self._cum: list[float] = np.concatenate([[0.0], np.cumsum(seg)]).tolist()
        self._at_counter_epoch = self._absolute_kwh(COUNTER_EPOCH_S)

    def _position(self, t: float) -> tuple[int, int, float]:
        """Whole periods, segment index and fraction: segment i joins midpoints i and i+1."""
        pos = (t + self._shift_s) / SteelProfile.INTERVAL_S - 0.5
        periods, rest = divmod(pos, self._n)
        i = int(rest)
        return int(periods), i, rest - i

    def _interp(self, series: list[float], i: int, frac: float) -> float:
        a, b = series[i], series[(i + 1) % self._n]
        return a + (b - a) * frac

    def _absolute_kwh(self, t: float) -> float:
        """Unscaled energy since the profile's origin: whole periods plus the partial one."""
        periods, i, frac = self._position(t)
        a, b = self._power[i], self._power[(i + 1) % self._n]
        within = (a * frac + (b - a) * frac * frac / 2) * SteelProfile.INTERVAL_S / 3600
        return float(periods * self._cum[self._n] + self._cum[i] + within)

    def energy_kwh(self, t: float) -> float:
        """Energy through the meter since :data:`COUNTER_EPOCH_S` (noise-free, so restart-proof)."""
        return (self._absolute_kwh(t) - self._at_counter_epoch) * self._scale

    def take_events(self) -> list[SimEvent]:
        return []  # no events in this kind's thing model

    def sample(self, t: float) -> dict[str, Value]:
        _, i, frac = self._position(t)
        self._drift = 0.95 * self._drift + self._rng.gauss(0.0, 0.004)
        noise = 1.0 + self._drift + self._rng.gauss(0.0, 0.002)
        p = max(0.0, self._interp(self._power, i, frac) * self._scale * noise)
        q = self._interp(self._reactive, i, frac) * self._scale * noise
        apparent = math.hypot(p, q)
        energy = self.energy_kwh(t)
        return {
            "active_power": p,
            "reactive_power": q,
            "power_factor": p / apparent if apparent > 0 else 1.0,
            "energy_total": energy,
            "co2_total": energy * self._co2_factor,
        }
