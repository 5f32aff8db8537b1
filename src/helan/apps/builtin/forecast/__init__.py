"""Load forecast: a day-ahead, 15-minute load forecast for every power meter of its tenants.

A scheduled job forecasts each meter's next 24 hours from its own 15-minute means with the model
evaluated by ``helan models eval forecast`` (trained on the steel plant the simulator replays,
kept in the model registry), writes ``forecast.kw`` per slot, and a route and console page show
forecast against actual.
"""

from __future__ import annotations

from helan.apps.builtin.forecast.app import (
    console_pages,
    manifest,
    routes,
    scheduled_jobs,
    scope_families,
    shutdown,
    startup,
)

__all__ = [
    "console_pages",
    "manifest",
    "routes",
    "scheduled_jobs",
    "scope_families",
    "shutdown",
    "startup",
]
