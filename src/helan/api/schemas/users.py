from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import StringConstraints, ValidationInfo, field_validator

from helan.api.schemas.common import Input, Name, Output, domain_check
from helan.storage.meta.codes import validate_region

Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{2,63}$")]
Password = Annotated[str, StringConstraints(min_length=12, max_length=256, strip_whitespace=False)]
Email = Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Region = Annotated[str, domain_check(validate_region)]
TenantRole = Literal["tenant_admin", "operator", "viewer"]
PlatformRole = Literal["platform_admin", "region_viewer", "security_officer"]
# Every role of people. Tenant accounts take tenant roles, platform accounts platform roles;
# a role on the wrong side is refused with a message saying so (as is a misplaced region).
UserRole = Literal[
    "platform_admin", "region_viewer", "security_officer", "tenant_admin", "operator", "viewer"
]


class UserCreate(Input):
    """``region`` (a GB/T 2260 division code) is required for a ``region_viewer``, whom only a
    platform administrator creates, and refused for every other role."""

    username: Username
    password: Password
    role: UserRole
    region: Region | None = None
    display_name: Name | None = None
    email: Email | None = None


class UserPatch(Input):
    """Absent fields stay as they are; ``null`` clears ``display_name``, ``email`` and
    ``region`` and is refused for the others, which have no empty value. A region viewer keeps
    its region unless one is given; a change to another role drops it."""

    role: UserRole | None = None
    region: Region | None = None
    display_name: Name | None = None
    email: Email | None = None
    disabled: bool | None = None
    password: Password | None = None

    @field_validator("role", "disabled", "password")
    @classmethod
    def _not_null(cls, value: object, info: ValidationInfo) -> object:
        # Defaults are not validated, so this sees only a null the client sent.
        if value is None:
            raise ValueError(f"{info.field_name} may not be null (leave it out to keep it)")
        return value


class UserOut(Output):
    username: str
    tenant_id: str | None
    role: str
    region: str | None
    display_name: str | None
    email: str | None
    disabled: bool
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime


class PasswordChange(Input):
    current_password: Annotated[str, StringConstraints(max_length=256, strip_whitespace=False)]
    new_password: Password
