"""Tables: the regional view (issue 14).

Plans and their targets (per indicator, year and optionally industry section), the daily
indicator series, region administrators (a grant on a region viewer's account), subsidy and
cloud-voucher schemes (rules as JSON data), applications with their invoices, payments and
trail, enterprise credit records with their due process, the expert pool with relationships,
and expert reviews. Money is stored in fen (integers), never as floats.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from helan.storage.meta.models import Base, utcnow

_BIGINT = sa.BigInteger().with_variant(sa.Integer, "sqlite")


class RegionPlan(Base):
    __tablename__ = "region_plans"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    region: Mapped[str] = mapped_column(sa.String(6), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_by: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RegionPlanTarget(Base):
    __tablename__ = "region_plan_targets"

    plan_id: Mapped[str] = mapped_column(
        sa.ForeignKey("region_plans.id", ondelete="CASCADE"), primary_key=True
    )
    indicator: Mapped[str] = mapped_column(sa.String(48), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    region: Mapped[str] = mapped_column(sa.String(6), primary_key=True)  # the plan's or below
    industry: Mapped[str] = mapped_column(sa.String(2), primary_key=True, default="")  # "": all
    target: Mapped[float]


class RegionIndicatorValue(Base):
    """One day's value of an indicator over a division (and its divisions below), for one
    industry section ("" = every industry)."""

    __tablename__ = "region_indicator_values"
    __table_args__ = (
        sa.Index("ix_region_indicator_values_region_day", "region", "indicator", "day"),
    )

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    region: Mapped[str] = mapped_column(sa.String(6), primary_key=True)
    industry: Mapped[str] = mapped_column(sa.String(2), primary_key=True)
    indicator: Mapped[str] = mapped_column(sa.String(48), primary_key=True)
    value: Mapped[float]
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class RegionAdmin(Base):
    """A region viewer's account granted the administration of a region (schemes, calls,
    experts, credit) by a platform administrator."""

    __tablename__ = "region_admins"

    username: Mapped[str] = mapped_column(
        sa.ForeignKey("users.username", ondelete="CASCADE"), primary_key=True
    )
    region: Mapped[str] = mapped_column(sa.String(6), primary_key=True)
    granted_by: Mapped[str] = mapped_column(sa.String(100))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)


class RegionScheme(Base):
    __tablename__ = "region_schemes"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    region: Mapped[str] = mapped_column(sa.String(6), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(16))  # voucher | subsidy
    rules: Mapped[dict[str, Any]] = mapped_column(default=dict)
    valid_from: Mapped[date] = mapped_column(sa.Date)
    valid_to: Mapped[date] = mapped_column(sa.Date)
    created_by: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RegionApplication(Base):
    __tablename__ = "region_applications"
    __table_args__ = (sa.Index("ix_region_applications_tenant", "tenant_id", "scheme_id"),)

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    scheme_id: Mapped[str] = mapped_column(
        sa.ForeignKey("region_schemes.id", ondelete="CASCADE"), index=True
    )
    tenant_id: Mapped[str] = mapped_column(sa.ForeignKey("tenants.id", ondelete="CASCADE"))
    year: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(16))
    services: Mapped[list[Any]] = mapped_column(default=list)
    invoices: Mapped[list[Any]] = mapped_column(default=list)
    claimed_devices: Mapped[list[Any]] = mapped_column(default=list)
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    entitlement: Mapped[dict[str, Any]] = mapped_column(default=dict)
    amount_fen: Mapped[int] = mapped_column(_BIGINT, default=0)
    flags: Mapped[list[Any]] = mapped_column(default=list)
    submitted_by: Mapped[str] = mapped_column(sa.String(100))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(sa.String(100))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(sa.String(2000), default="")


class RegionInvoice(Base):
    """An invoice claimed by an application: one invoice number per tenant is claimed once,
    so a second application for the same costs is refused naming the first."""

    __tablename__ = "region_invoices"

    tenant_id: Mapped[str] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    application_id: Mapped[str] = mapped_column(
        sa.ForeignKey("region_applications.id", ondelete="CASCADE"), index=True
    )


class RegionPayment(Base):
    __tablename__ = "region_payments"

    id: Mapped[int] = mapped_column(_BIGINT, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(
        sa.ForeignKey("region_applications.id", ondelete="CASCADE"), index=True
    )
    amount_fen: Mapped[int] = mapped_column(_BIGINT)
    reference: Mapped[str] = mapped_column(sa.String(100))
    paid_by: Mapped[str] = mapped_column(sa.String(100))
    paid_at: Mapped[datetime] = mapped_column(default=utcnow)


class RegionTrail(Base):
    """What happened to an application, a credit record or a review, in order: who, what,
    with which figures. Shown to the region and (for its own things) the enterprise."""

    __tablename__ = "region_trail"
    __table_args__ = (sa.Index("ix_region_trail_subject", "subject_kind", "subject_id"),)

    id: Mapped[int] = mapped_column(_BIGINT, primary_key=True, autoincrement=True)
    subject_kind: Mapped[str] = mapped_column(sa.String(16))
    subject_id: Mapped[str] = mapped_column(sa.String(32))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(sa.String(100))
    action: Mapped[str] = mapped_column(sa.String(48))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class RegionCreditRecord(Base):
    __tablename__ = "region_credit_records"
    __table_args__ = (sa.Index("ix_region_credit_tenant", "tenant_id"),)

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(sa.ForeignKey("tenants.id", ondelete="CASCADE"))
    region: Mapped[str] = mapped_column(sa.String(6))
    kind: Mapped[str] = mapped_column(sa.String(32))
    finding: Mapped[str] = mapped_column(sa.Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    blacklist: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(sa.String(16))
    noticed_at: Mapped[datetime] = mapped_column(default=utcnow)
    respond_by: Mapped[datetime]
    response: Mapped[str] = mapped_column(sa.Text, default="")
    responded_at: Mapped[datetime | None]
    decision: Mapped[str | None] = mapped_column(sa.String(16))
    decision_note: Mapped[str] = mapped_column(sa.Text, default="")
    decided_at: Mapped[datetime | None]
    appeal: Mapped[str] = mapped_column(sa.Text, default="")
    appealed_at: Mapped[datetime | None]
    appeal_decision: Mapped[str | None] = mapped_column(sa.String(16))
    appeal_decided_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(sa.String(100))


class RegionExpert(Base):
    __tablename__ = "region_experts"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    region: Mapped[str] = mapped_column(sa.String(6), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    affiliation: Mapped[str] = mapped_column(sa.String(200), default="")
    tenant_id: Mapped[str | None] = mapped_column(sa.String(32))  # employer, when a tenant
    fields: Mapped[list[Any]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RegionExpertRelation(Base):
    """A past or present tie between an expert and an enterprise (consulting, former
    employment, shareholding...): within its cooling-off period it excludes the expert."""

    __tablename__ = "region_expert_relations"

    id: Mapped[int] = mapped_column(_BIGINT, primary_key=True, autoincrement=True)
    expert_id: Mapped[str] = mapped_column(
        sa.ForeignKey("region_experts.id", ondelete="CASCADE"), index=True
    )
    tenant_id: Mapped[str] = mapped_column(sa.String(32))
    kind: Mapped[str] = mapped_column(sa.String(32))
    ended_on: Mapped[date | None] = mapped_column(sa.Date)  # None: ongoing
    note: Mapped[str] = mapped_column(sa.String(500), default="")


class RegionReview(Base):
    __tablename__ = "region_reviews"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    region: Mapped[str] = mapped_column(sa.String(6), index=True)
    subject_kind: Mapped[str] = mapped_column(sa.String(16))
    subject_id: Mapped[str] = mapped_column(sa.String(32))
    tenant_id: Mapped[str] = mapped_column(sa.String(32))
    field: Mapped[str | None] = mapped_column(sa.String(64))
    seed: Mapped[int] = mapped_column(_BIGINT)
    drawn: Mapped[list[Any]] = mapped_column(default=list)
    excluded: Mapped[list[Any]] = mapped_column(default=list)
    created_by: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RegionReviewScore(Base):
    __tablename__ = "region_review_scores"

    review_id: Mapped[str] = mapped_column(
        sa.ForeignKey("region_reviews.id", ondelete="CASCADE"), primary_key=True
    )
    expert_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    score: Mapped[float]
    comment: Mapped[str] = mapped_column(sa.String(2000), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)
