"""Field rules shared by several resources."""

from __future__ import annotations

from enum import Enum

from helan.core.errors import ValidationFailed

MAX_NAME = 200
# Free-form attributes of a device or product.
Attributes = dict[str, str | int | float | bool | None]


class Auto(Enum):
    """An industrial identifier left to the platform: ``<tenant prefix>/<id>`` when the tenant
    has a prefix, none otherwise (None instead opts out even then)."""

    AUTO = "auto"


AUTO = Auto.AUTO


def name(value: str) -> str:
    """A display name: 1 to 200 characters."""
    if not 1 <= len(value) <= MAX_NAME:
        raise ValidationFailed(f"name must be 1 to {MAX_NAME} characters, got {len(value)}")
    return value
