"""traceability: sharing agreements, partners, named queries, subscriptions

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07

New tables only; the EPCIS events live in the trace event store (data_dir/trace), not here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def _tenant() -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
    ]


def upgrade() -> None:
    op.create_table(
        "trace_agreements",
        *_tenant(),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("partner_tenant", sa.String(length=32), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    op.create_index("ix_trace_agreements_token", "trace_agreements", ["token_hash"])
    op.create_table(
        "trace_partners",
        *_tenant(),
        sa.Column("prefix", sa.String(length=64), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=False),
        sa.Column("remote_tenant", sa.String(length=32), nullable=False),
        sa.Column("token", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "prefix"),
    )
    op.create_table(
        "trace_named_queries",
        *_tenant(),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "name"),
    )
    op.create_table(
        "trace_subscriptions",
        *_tenant(),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("query_name", sa.String(length=64), nullable=False),
        sa.Column("dest", sa.String(length=500), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("delivered", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )


def downgrade() -> None:
    op.drop_table("trace_subscriptions")
    op.drop_table("trace_named_queries")
    op.drop_table("trace_partners")
    op.drop_index("ix_trace_agreements_token", table_name="trace_agreements")
    op.drop_table("trace_agreements")
