"""Scheduling: orders to production with OR-Tools CP-SAT.

Manufacturing definitions (items with BOMs, routings, resource groups, configurable
products) are validated when saved; the shop quotes a configured product with a
capable-to-promise date from the current plan; orders become lots on the routing's machines;
the plan is solved with CP-SAT and changed as little as it can when a machine breaks down
(committed ``breakdown`` events), an order arrives or an operation is moved on the Gantt chart.
The solver lives apart in ``solver/`` (no platform imports) and is benchmarked on JSPLIB by
``helan bench jobshop``. See docs/scheduling.md.
"""

from __future__ import annotations

from helan.apps.builtin.scheduling.app import (
    committed_data,
    console_pages,
    migrations,
    routes,
    scope_families,
    shutdown,
)

__all__ = [
    "committed_data",
    "console_pages",
    "migrations",
    "routes",
    "scope_families",
    "shutdown",
]
