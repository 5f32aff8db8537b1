"""Shapes of the regional view's resources (plans, indicators, schemes, applications,
credit records, experts, reviews)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from helan.api.schemas.common import Input, Output

PlanId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
Division = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
IndustryKey = Annotated[str, StringConstraints(pattern=r"^([A-Ta-t]|[0-9]{2})$")]


class TargetIn(Input):
    indicator: Annotated[str, StringConstraints(min_length=1, max_length=48)]
    year: int = Field(ge=1900, le=9999)
    region: Division | None = None  # default: the plan's region
    industry: IndustryKey | None = None  # default: every industry
    target: float = Field(gt=0)


class PlanIn(Input):
    id: PlanId
    region: Division | None = None  # must be the posted region when given
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    description: Annotated[str, StringConstraints(max_length=5000)] = ""
    targets: list[TargetIn] = Field(min_length=1, max_length=5000)


class TargetOut(Output):
    indicator: str
    year: int
    region: str
    industry: str
    target: float


class PlanOut(Output):
    id: str
    region: str
    name: str
    description: str
    created_by: str
    created_at: datetime


class PlanDetail(PlanOut):
    targets: list[TargetOut]


class IndicatorDef(Output):
    id: str
    unit_zh: str
    unit_en: str
    name_zh: str
    name_en: str
    definition_zh: str
    definition_en: str


class ProgressRow(Output):
    code: str
    name: str
    values: dict[str, float]
    targets: dict[str, float]


class PathItem(Output):
    code: str
    name: str


class ProgressOut(Output):
    region: str
    name: str
    industry: str  # "" for every industry
    year: int
    day: date | None  # the stored day the values are of; None before the first computation
    computed_at: datetime | None
    plan: PlanOut | None
    path: list[PathItem]
    indicators: list[IndicatorDef]
    total: ProgressRow
    divisions: list[ProgressRow]
    industries: list[ProgressRow]


class SeriesPoint(Output):
    day: date
    value: float


class RefreshOut(Output):
    rows: int
    at: datetime


class AdminIn(Input):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class AdminOut(Output):
    username: str
    region: str
    granted_by: str
    granted_at: datetime


JsonObject = dict[str, Any]
