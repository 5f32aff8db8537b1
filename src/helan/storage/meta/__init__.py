"""Metadata (SQLite | PostgreSQL): tenants, users, keys, thing models, devices, assets, audit,
dashboards and reports, rules, alarms and notifications."""

from helan.storage.meta import models_alarms, models_console, models_notify, models_rules
from helan.storage.meta import models_security_auth  # noqa: F401 - registers its tables
from helan.storage.meta import models_security_warnings  # noqa: F401 - registers its tables
from helan.storage.meta.store import MetaStore

__all__ = ["MetaStore", "models_alarms", "models_console", "models_notify", "models_rules"]
