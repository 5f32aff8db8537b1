"""A small thing model shared by the ingest tests (imported by conftest.py and the tests)."""

from __future__ import annotations

import time
from typing import Any

TENANT = "acme"
METRICS: list[dict[str, Any]] = [
    {"name": "pressure", "type": "float", "min": 0.0, "max": 100.0},
    {"name": "count", "type": "int"},
    {"name": "running", "type": "bool"},
    {"name": "state", "type": "string"},
]
DEVICES: list[dict[str, Any]] = [
    {"tenant": TENANT, "device": "pump-1", "username": "u1", "secret": "s1", "metrics": METRICS},
    {"tenant": TENANT, "device": "pump-2", "username": "u2", "secret": "s2", "metrics": METRICS},
    {"tenant": TENANT, "device": "old", "username": "u3", "secret": "s3", "enabled": False},
    {"tenant": "bolt", "device": "pump-1", "username": "u4", "secret": "s4", "metrics": METRICS},
]


def now_ms() -> int:
    return time.time_ns() // 1_000_000
