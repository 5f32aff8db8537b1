"""the regional view: plans, indicator series, region administrators, schemes and
applications, credit records, experts and reviews; tenants' GB/T 4754 industry code

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07

New tables only, and one nullable column on ``tenants`` (existing rows keep no code).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "region_experts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("affiliation", sa.String(length=200), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_region_experts_region"), "region_experts", ["region"], unique=False)
    op.create_table(
        "region_indicator_values",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("industry", sa.String(length=2), nullable=False),
        sa.Column("indicator", sa.String(length=48), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", "region", "industry", "indicator"),
    )
    op.create_index(
        "ix_region_indicator_values_region_day",
        "region_indicator_values",
        ["region", "indicator", "day"],
        unique=False,
    )
    op.create_table(
        "region_plans",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_region_plans_region"), "region_plans", ["region"], unique=False)
    op.create_table(
        "region_reviews",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=True),
        sa.Column("seed", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("drawn", sa.JSON(), nullable=False),
        sa.Column("excluded", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_region_reviews_region"), "region_reviews", ["region"], unique=False)
    op.create_table(
        "region_schemes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_region_schemes_region"), "region_schemes", ["region"], unique=False)
    op.create_table(
        "region_trail",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_region_trail_subject", "region_trail", ["subject_kind", "subject_id"], unique=False
    )
    op.create_table(
        "region_applications",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("scheme_id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("invoices", sa.JSON(), nullable=False),
        sa.Column("claimed_devices", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("entitlement", sa.JSON(), nullable=False),
        sa.Column(
            "amount_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("submitted_by", sa.String(length=100), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.String(length=2000), nullable=False),
        sa.ForeignKeyConstraint(["scheme_id"], ["region_schemes.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_region_applications_scheme_id"), "region_applications", ["scheme_id"], unique=False
    )
    op.create_index(
        "ix_region_applications_tenant",
        "region_applications",
        ["tenant_id", "scheme_id"],
        unique=False,
    )
    op.create_table(
        "region_credit_records",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("finding", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("blacklist", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("noticed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("respond_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("appeal", sa.Text(), nullable=False),
        sa.Column("appealed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("appeal_decision", sa.String(length=16), nullable=True),
        sa.Column("appeal_decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_region_credit_tenant", "region_credit_records", ["tenant_id"], unique=False)
    op.create_table(
        "region_expert_relations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("expert_id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(["expert_id"], ["region_experts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_region_expert_relations_expert_id"),
        "region_expert_relations",
        ["expert_id"],
        unique=False,
    )
    op.create_table(
        "region_plan_targets",
        sa.Column("plan_id", sa.String(length=32), nullable=False),
        sa.Column("indicator", sa.String(length=48), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("industry", sa.String(length=2), nullable=False),
        sa.Column("target", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["region_plans.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("plan_id", "indicator", "year", "region", "industry"),
    )
    op.create_table(
        "region_review_scores",
        sa.Column("review_id", sa.String(length=32), nullable=False),
        sa.Column("expert_id", sa.String(length=32), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("comment", sa.String(length=2000), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["review_id"], ["region_reviews.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("review_id", "expert_id"),
    )
    op.create_table(
        "region_admins",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("granted_by", sa.String(length=100), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["username"], ["users.username"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("username", "region"),
    )
    op.create_table(
        "region_invoices",
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["region_applications.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "number"),
    )
    op.create_index(
        op.f("ix_region_invoices_application_id"),
        "region_invoices",
        ["application_id"],
        unique=False,
    )
    op.create_table(
        "region_payments",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.Column(
            "amount_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("paid_by", sa.String(length=100), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["region_applications.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_region_payments_application_id"),
        "region_payments",
        ["application_id"],
        unique=False,
    )
    op.add_column("tenants", sa.Column("industry_code", sa.String(length=2), nullable=True))


def downgrade() -> None:
    op.drop_column("tenants", "industry_code")
    op.drop_index(op.f("ix_region_payments_application_id"), table_name="region_payments")
    op.drop_table("region_payments")
    op.drop_index(op.f("ix_region_invoices_application_id"), table_name="region_invoices")
    op.drop_table("region_invoices")
    op.drop_table("region_admins")
    op.drop_table("region_review_scores")
    op.drop_table("region_plan_targets")
    op.drop_index(
        op.f("ix_region_expert_relations_expert_id"), table_name="region_expert_relations"
    )
    op.drop_table("region_expert_relations")
    op.drop_index("ix_region_credit_tenant", table_name="region_credit_records")
    op.drop_table("region_credit_records")
    op.drop_index("ix_region_applications_tenant", table_name="region_applications")
    op.drop_index(op.f("ix_region_applications_scheme_id"), table_name="region_applications")
    op.drop_table("region_applications")
    op.drop_index("ix_region_trail_subject", table_name="region_trail")
    op.drop_table("region_trail")
    op.drop_index(op.f("ix_region_schemes_region"), table_name="region_schemes")
    op.drop_table("region_schemes")
    op.drop_index(op.f("ix_region_reviews_region"), table_name="region_reviews")
    op.drop_table("region_reviews")
    op.drop_index(op.f("ix_region_plans_region"), table_name="region_plans")
    op.drop_table("region_plans")
    op.drop_index("ix_region_indicator_values_region_day", table_name="region_indicator_values")
    op.drop_table("region_indicator_values")
    op.drop_index(op.f("ix_region_experts_region"), table_name="region_experts")
    op.drop_table("region_experts")
