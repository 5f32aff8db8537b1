"""Metadata (SQLite | PostgreSQL): tenants, users, keys, thing models, devices, assets, audit,
dashboards and reports, rules, alarms and notifications, traceability."""

from helan.storage.meta import (  # noqa: F401 - each registers its tables
    models_alarms,
    models_console,
    models_notify,
    models_region,
    models_rules,
    models_security_assets,
    models_security_auth,
    models_security_warnings,
    models_trace,
)
from helan.storage.meta.store import MetaStore

__all__ = ["MetaStore", "models_alarms", "models_console", "models_notify", "models_rules"]
