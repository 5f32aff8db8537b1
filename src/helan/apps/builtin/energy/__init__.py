"""Energy and emissions centre (能源管理中心): consumption per interval from cumulative meter
counters over the asset tree's meter hierarchy, time-of-use cost, intensity per unit of
output, ISO 50006 EnPI and baselines, CO2 from the MEE's published grid factors (held as data),
power factor, daily and monthly reports; ``enpi_ratio`` per meter for the rules engine."""

from __future__ import annotations

from helan.apps.builtin.energy.app import (
    console_pages,
    manifest,
    routes,
    scheduled_jobs,
    scope_families,
)

__all__ = ["console_pages", "manifest", "routes", "scheduled_jobs", "scope_families"]
