"""Syntax of the names that appear in topics, URLs and storage keys.

Tenant and device ids travel inside MQTT topics and URLs, so they are restricted to characters
that can never be a wildcard (``+``, ``#``), a path step (``..``, ``/``) or a control character.
"""

from __future__ import annotations

import re

from helan.core.errors import ValidationFailed

TENANT_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
DEVICE_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$")
METRIC_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,63}$")
# Industrial identifier (Handle syntax): dotted numeric/alnum prefix, '/', printable suffix.
IDENTIFIER = re.compile(r"^[0-9A-Za-z]+(?:\.[0-9A-Za-z]+)*/[\x21-\x7e]{1,128}$")


def check(kind: str, pattern: re.Pattern[str], value: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value) or ".." in value:
        raise ValidationFailed(f"invalid {kind} {value!r}: must match {pattern.pattern}")
    return value


def tenant_id(value: str) -> str:
    return check("tenant id", TENANT_ID, value)


def device_id(value: str) -> str:
    return check("device id", DEVICE_ID, value)


def metric_name(value: str) -> str:
    return check("metric name", METRIC_NAME, value)
