"""A region's summary: counts only. No telemetry, no device or user lists: a region viewer
oversees the tenants of its region without seeing any tenant's data."""

from __future__ import annotations

from helan.api.schemas.common import Output


class RegionTenant(Output):
    id: str
    name: str
    devices: int
    online: int
    identifiers: int


class RegionSummary(Output):
    region: str
    at: int  # epoch ms at which ``online`` was counted
    tenants: int
    tenants_by_status: dict[str, int]
    devices: int
    online: int  # registered devices connected or heard from within the offline timeout
    identifiers: int  # devices and products with an industrial identifier
    apps_installed: int  # enabled installs, one per tenant and app
    apps: dict[str, int]  # app id -> tenants that have it enabled
    by_tenant: list[RegionTenant]
