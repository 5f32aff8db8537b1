"""sparkplug_births: the last birth certificate of each Sparkplug edge node and device

Revision ID: 0004
Revises: 0003
Create Date: 2026-01-04

Kept in the metadata database rather than in memory so that DATA the broker queued for the
platform's persistent session while it was down can be decoded after a restart.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sparkplug_births",
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("edge_node", sa.String(length=64), nullable=False),
        sa.Column("device", sa.String(length=64), nullable=False),
        sa.Column("bdseq", sa.BigInteger(), nullable=True),
        sa.Column("helan_commands", sa.Boolean(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("born_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "edge_node", "device"),
    )


def downgrade() -> None:
    op.drop_table("sparkplug_births")
