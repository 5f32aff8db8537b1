"""Metadata (SQLite | PostgreSQL): tenants, users, keys, thing models, devices, assets, audit."""

from helan.storage.meta.store import MetaStore

__all__ = ["MetaStore"]
