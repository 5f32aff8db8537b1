"""Who is calling: the result of authentication, the input of every authorisation decision
(:mod:`helan.security.policy` makes them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal


class Role(StrEnum):
    PLATFORM_ADMIN = "platform_admin"  # the regional operator; sees every tenant
    REGION_VIEWER = "region_viewer"  # a regulator: aggregates of its region's tenants, no data
    # Watches the platform's security: audit trail, asset inventory, security events of every
    # tenant; never a tenant's telemetry, devices or settings (tenant routes hide them).
    SECURITY_OFFICER = "security_officer"
    TENANT_ADMIN = "tenant_admin"  # manages one enterprise: users, keys, devices
    OPERATOR = "operator"  # runs one enterprise's devices: writes devices, data, commands
    VIEWER = "viewer"  # reads one enterprise's data
    DEVICE = "device"  # a device credential: may only ingest as itself


WRITERS = frozenset({Role.PLATFORM_ADMIN, Role.TENANT_ADMIN, Role.OPERATOR})
ADMINS = frozenset({Role.PLATFORM_ADMIN, Role.TENANT_ADMIN})
# Roles of accounts outside every tenant; only a platform administrator grants them.
PLATFORM_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.REGION_VIEWER, Role.SECURITY_OFFICER})


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    kind: Literal["user", "api_key", "device"]
    subject: str  # user name, api key id, or device id
    tenant: str | None  # None only for the platform roles (PLATFORM_ROLES)
    role: Role
    scopes: frozenset[str] = field(default_factory=frozenset)
    region: str | None = None  # a region viewer's division code (GB/T 2260)
    session: str | None = None  # a user's login session (revocable, listed in /auth/sessions)
    # An account that must have a second factor and has none past its grace period: the
    # token only enrols one (:func:`helan.security.policy.may_use_enrol_only`).
    enrol_only: bool = False
