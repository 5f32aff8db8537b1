"""app_installs: which tenant has installed which app

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

A new table only. The app manager hands an app's SDK only the tenants listed here with
``enabled`` true; the full catalogue (configuration, audit) builds on this table later.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_installs",
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "app_id"),
    )


def downgrade() -> None:
    op.drop_table("app_installs")
