from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from helan.api.schemas.common import Input, Output

Scope = Literal[
    "telemetry:read",
    "telemetry:write",
    "devices:read",
    "devices:write",
    "commands:read",
    "commands:write",
    "admin",
]


class ApiKeyCreate(Input):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=5)]
    expires_at: datetime | None = Field(None, description="UTC; omitted = never expires")


class ApiKeyOut(Output):
    id: str
    name: str
    prefix: str
    scopes: list[str]
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="Shown once; only its SHA-256 is stored.")
