"""apps catalogue: per-tenant app configuration and daily call counters

Revision ID: cat001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "cat001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_catalogue_configs",
        sa.Column("tenant_id", sa.String(32), primary_key=True),
        sa.Column("app_id", sa.String(64), primary_key=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "app_catalogue_usage",
        sa.Column("app_id", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(32), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("calls", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("app_catalogue_usage")
    op.drop_table("app_catalogue_configs")
