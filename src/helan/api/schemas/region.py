"""Shapes of the regional view's resources (plans, indicators, schemes, applications,
credit records, experts, reviews)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

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


# --- schemes and applications ----------------------------------------------------------------

Service = Literal[
    "cloud_hosting",
    "iiot_platform",
    "industrial_apps",
    "identifier_services",
    "security_services",
    "data_services",
]
ObjectKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
Fen = Annotated[int, Field(ge=0, le=10**13)]


class RulesIn(Input):
    share: float = Field(gt=0, le=1, description="Share of the eligible cost reimbursed")
    annual_cap_fen: int = Field(gt=0, le=10**13, description="Cap per enterprise and year, fen")
    years: int = Field(ge=1, le=10, description="Years an enterprise may claim")
    eligible_services: list[Service] = Field(min_length=1, max_length=6)
    industries: list[IndustryKey] = Field(default_factory=list, max_length=117)
    regions: list[Division] = Field(default_factory=list, max_length=500)
    min_devices_connected: int = Field(default=0, ge=0, le=10**7)


class SchemeIn(Input):
    id: ObjectKey
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    kind: Literal["voucher", "subsidy"]
    valid_from: date
    valid_to: date
    rules: RulesIn


class SchemeOut(Output):
    id: str
    region: str
    name: str
    kind: str
    valid_from: date
    valid_to: date
    rules: dict[str, Any]
    created_by: str
    created_at: datetime


class InvoiceLine(Input):
    description: Annotated[str, StringConstraints(max_length=200)] = ""
    amount_fen: Fen


class InvoiceIn(Input):
    number: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    issuer: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    issued_on: date
    service: Service
    lines: list[InvoiceLine] = Field(min_length=1, max_length=100)
    total_fen: Fen


class ApplicationIn(Input):
    scheme: ObjectKey
    year: int = Field(ge=2000, le=2100)
    invoices: list[InvoiceIn] = Field(min_length=1, max_length=100)
    claimed_devices: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=200
    )


class TrailOut(Output):
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]


class PaymentOut(Output):
    id: int
    amount_fen: int
    reference: str
    paid_by: str
    paid_at: datetime


class ApplicationOut(Output):
    id: str
    scheme_id: str
    tenant_id: str
    year: int
    status: str
    services: list[str]
    invoices: list[dict[str, Any]]
    claimed_devices: list[str]
    evidence: dict[str, Any]
    entitlement: dict[str, Any]
    amount_fen: int
    flags: list[dict[str, Any]]
    submitted_by: str
    submitted_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str


class ApplicationDetail(ApplicationOut):
    trail: list[TrailOut]
    payments: list[PaymentOut]


class DecisionIn(Input):
    decision: Literal["approve", "reject"]
    note: Annotated[str, StringConstraints(max_length=2000)] = ""


class PaymentIn(Input):
    amount_fen: int = Field(gt=0, le=10**13)
    reference: Annotated[str, StringConstraints(min_length=1, max_length=100)]


# --- credit --------------------------------------------------------------------------------------


class CreditIn(Input):
    tenant: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    kind: Literal["falsified_claim", "unreported_incident", "penalty"]
    finding: Annotated[str, StringConstraints(min_length=1, max_length=5000)]
    evidence: dict[str, Any] = Field(default_factory=dict)
    blacklist: bool = False
    respond_days: int = Field(default=15, ge=1, le=90)


class CreditOut(Output):
    id: str
    tenant_id: str
    region: str
    kind: str
    finding: str
    evidence: dict[str, Any]
    blacklist: bool
    status: str
    noticed_at: datetime
    respond_by: datetime
    response: str
    responded_at: datetime | None
    decision: str | None
    decision_note: str
    decided_at: datetime | None
    appeal: str
    appealed_at: datetime | None
    appeal_decision: str | None
    appeal_decided_at: datetime | None
    expires_at: datetime | None
    blacklisted: bool = False


class CreditDetail(CreditOut):
    trail: list[TrailOut]


class TextIn(Input):
    text: Annotated[str, StringConstraints(min_length=1, max_length=5000)]


class CreditDecisionIn(Input):
    decision: Literal["upheld", "dismissed"]
    note: Annotated[str, StringConstraints(max_length=5000)] = ""
    months: int = Field(default=12, ge=1, le=60)


class AppealDecisionIn(Input):
    decision: Literal["upheld", "overturned"]
    note: Annotated[str, StringConstraints(max_length=5000)] = ""


# --- experts -----------------------------------------------------------------------------------

FieldName = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class ExpertIn(Input):
    id: ObjectKey
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    title: Annotated[str, StringConstraints(max_length=200)] = ""
    affiliation: Annotated[str, StringConstraints(max_length=200)] = ""
    tenant: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None
    fields: list[FieldName] = Field(min_length=1, max_length=20)


class RelationIn(Input):
    tenant: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    kind: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    ended_on: date | None = None
    note: Annotated[str, StringConstraints(max_length=500)] = ""


class RelationOut(Output):
    tenant_id: str
    kind: str
    ended_on: date | None
    note: str


class ExpertOut(Output):
    id: str
    region: str
    name: str
    title: str
    affiliation: str
    tenant_id: str | None
    fields: list[str]
    active: bool


class ExpertDetail(ExpertOut):
    relations: list[RelationOut]


class ReviewIn(Input):
    subject_kind: Literal["application", "project"]
    subject_id: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    tenant: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    field: FieldName | None = None
    size: int = Field(default=3, ge=1, le=25)
    seed: int | None = Field(default=None, ge=0, le=2**48)


class ScoreIn(Input):
    expert: ObjectKey
    score: float = Field(ge=0, le=100)
    comment: Annotated[str, StringConstraints(max_length=2000)] = ""


class ScoreOut(Output):
    expert_id: str
    score: float
    comment: str
    at: datetime


class ReviewOut(Output):
    id: str
    region: str
    subject_kind: str
    subject_id: str
    tenant_id: str
    field: str | None
    seed: int
    drawn: list[str]
    excluded: list[dict[str, str]]
    created_by: str
    created_at: datetime
    scores: list[ScoreOut] = Field(default_factory=list)
