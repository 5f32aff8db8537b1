"""Fixtures for the metadata and identity API tests (defined in meta_world.py)."""

from meta_world import api, pg_api, world

__all__ = ["api", "pg_api", "world"]
