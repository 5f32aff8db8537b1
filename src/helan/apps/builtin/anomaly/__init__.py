"""Anomaly detection: every pump's committed data scored live with the SKAB detector (T² of
the eight signals against normal pump data, smoothed), written as ``anomaly.score`` and
``anomaly.flag``, alarmed through the rules engine, shown on a console page."""

from __future__ import annotations

from helan.apps.builtin.anomaly.app import (
    committed_data,
    console_pages,
    manifest,
    routes,
    scope_families,
    shutdown,
    startup,
)

__all__ = [
    "committed_data",
    "console_pages",
    "manifest",
    "routes",
    "scope_families",
    "shutdown",
    "startup",
]
