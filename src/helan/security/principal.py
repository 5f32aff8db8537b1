"""Who is calling: the result of authentication, the input of every authorisation decision."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal


class Role(StrEnum):
    PLATFORM_ADMIN = "platform_admin"  # the regional operator; sees every tenant
    TENANT_ADMIN = "tenant_admin"  # manages one enterprise: users, keys, devices
    OPERATOR = "operator"  # runs one enterprise's devices: writes devices, data, commands
    VIEWER = "viewer"  # reads one enterprise's data
    DEVICE = "device"  # a device credential: may only ingest as itself


WRITERS = frozenset({Role.PLATFORM_ADMIN, Role.TENANT_ADMIN, Role.OPERATOR})
ADMINS = frozenset({Role.PLATFORM_ADMIN, Role.TENANT_ADMIN})


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    kind: Literal["user", "api_key", "device"]
    subject: str  # user name, api key id, or device id
    tenant: str | None  # None only for platform administrators
    role: Role
    scopes: frozenset[str] = field(default_factory=frozenset)

    def sees_tenant(self, tenant: str) -> bool:
        return self.role is Role.PLATFORM_ADMIN or self.tenant == tenant
