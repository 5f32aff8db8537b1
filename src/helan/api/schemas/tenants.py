from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from helan.api.schemas.common import (
    Input,
    Name,
    Output,
    RetentionDays,
    ShortText,
    TenantId,
    domain_check,
)
from helan.ident.link.rules import check_prefix
from helan.region.industries import check_industry
from helan.storage.meta.codes import validate_region, validate_uscc

Uscc = Annotated[str, domain_check(validate_uscc)]
Region = Annotated[str, domain_check(validate_region)]
IndustryCode = Annotated[str, domain_check(check_industry)]
TenantStatus = Literal["active", "suspended"]
IdentPrefix = Annotated[str, domain_check(check_prefix)]


class TenantCreate(Input):
    id: TenantId
    name: Name
    uscc: Uscc | None = None
    industry: ShortText | None = None
    industry_code: IndustryCode | None = None
    region: Region | None = None
    retention_days: RetentionDays = 365
    allow_auto_create: bool = False
    ident_prefix: IdentPrefix | None = None


class TenantPatch(Input):
    """``status`` and ``ident_prefix`` may only be changed by a platform administrator."""

    name: Name | None = None
    uscc: Uscc | None = None
    industry: ShortText | None = None
    industry_code: IndustryCode | None = None
    region: Region | None = None
    retention_days: RetentionDays | None = None
    allow_auto_create: bool | None = None
    status: TenantStatus | None = None
    ident_prefix: IdentPrefix | None = None


class TenantOut(Output):
    id: str
    name: str
    uscc: str | None
    industry: str | None
    industry_code: str | None
    region: str | None
    status: str
    retention_days: int
    allow_auto_create: bool
    ident_prefix: str | None
    created_at: datetime
    updated_at: datetime


class AuditOut(Output):
    id: int
    at: datetime
    tenant_id: str | None
    actor_kind: str
    actor: str
    action: str
    object_type: str
    object_id: str | None
    result: str
    detail: dict[str, object]
