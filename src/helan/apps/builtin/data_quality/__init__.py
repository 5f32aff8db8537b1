"""Data quality: how many points each device delivered, per minute, as a derived metric.

The smallest app that uses every seam: it counts committed points per device (committed-data
hook), writes ``dq.points_per_min`` through the SDK every minute (scheduled job), shows the
counts on a route and a console page, and adds the ``data_quality`` scope family.
"""

from __future__ import annotations

from helan.apps.builtin.data_quality.app import (
    committed_data,
    console_pages,
    manifest,
    routes,
    scheduled_jobs,
    scope_families,
    shutdown,
    startup,
)

__all__ = [
    "committed_data",
    "console_pages",
    "manifest",
    "routes",
    "scheduled_jobs",
    "scope_families",
    "shutdown",
    "startup",
]
