"""Dashboards and report definitions over the API. A dashboard's ``spec`` is taken as plain
JSON here and checked by :mod:`helan.services.dashboard_spec`, which names each problem's
position inside it (a pydantic union over eight widget types would answer with noise)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from helan.api.schemas.common import Input, ObjectId, Output

Title = Annotated[str, StringConstraints(min_length=1, max_length=200)]
# An address as SMTP takes it (no display name); the mail server has the last word.
Email = Annotated[
    str, StringConstraints(pattern=r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$", max_length=254)
]
Description = Annotated[str, StringConstraints(max_length=2000)]


class DashboardCreate(Input):
    id: ObjectId | None = None
    title: Title
    description: Description | None = None
    spec: dict[str, Any]


class DashboardUpdate(Input):
    title: Title
    description: Description | None = None
    spec: dict[str, Any]
    version: Annotated[int, Field(ge=1, description="The version this edit started from")]


class DashboardOut(Output):
    id: str
    title: str
    description: str | None
    owner: str
    spec: dict[str, Any]
    version: int
    shared: bool
    created_at: datetime
    updated_at: datetime


class DashboardSummary(Output):
    id: str
    title: str
    description: str | None
    owner: str
    version: int
    shared: bool
    widgets: int
    updated_at: datetime


class ShareOut(Output):
    token: str = Field(description="Shown once; a new share replaces it")
    path: str = Field(description="The console's link (after the host)")


class ReportSource(Input):
    dashboard: ObjectId | None = None
    series: Annotated[list[dict[str, str]], Field(max_length=50)] = Field(default_factory=list)


class ReportCreate(Input):
    id: ObjectId | None = None
    title_zh: Title
    title_en: Title
    language: Literal["zh-CN", "en"] = "zh-CN"
    source: ReportSource
    range_hours: Annotated[int, Field(ge=1, le=24 * 366)] = 24
    schedule: Literal["daily", "weekly", "monthly"] | None = None
    hour: Annotated[int, Field(ge=0, le=23)] = 6
    timezone: Annotated[str, StringConstraints(max_length=64)] = "Asia/Shanghai"
    recipients: Annotated[list[Email], Field(max_length=50)] = Field(default_factory=list)
    enabled: bool = True


class ReportOut(Output):
    id: str
    title_zh: str
    title_en: str
    language: str
    source: dict[str, Any]
    range_hours: int
    schedule: str | None
    hour: int
    timezone: str
    recipients: list[str]
    enabled: bool
    owner: str
    created_at: datetime
    updated_at: datetime


class RunOut(Output):
    id: int
    report_id: str
    trigger: str
    status: str
    range_start: datetime
    range_end: datetime
    started_at: datetime
    finished_at: datetime | None
    pdf_bytes: int
    mailed_to: list[str]
    error: str | None
