"""Fixtures of the simulator tests (defined in sim_helpers.py)."""

from sim_helpers import private_broker, tenant

__all__ = ["private_broker", "tenant"]
