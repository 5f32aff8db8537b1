"""OEE (设备综合效率) after ISO 22400-2: availability, effectiveness, quality and OEE per
machine, line and shift from the equipment state model, the part and reject counters and the
ideal cycle time; six big losses, MTBF, MTTR, health index. Writes ``oee.*`` derived metrics
every few minutes and shows the plant on the console page ``oee``."""

from __future__ import annotations

from helan.apps.builtin.oee.app import (
    console_pages,
    manifest,
    routes,
    scheduled_jobs,
    scope_families,
)

__all__ = ["console_pages", "manifest", "routes", "scheduled_jobs", "scope_families"]
