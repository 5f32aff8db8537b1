"""sample app: notes table

Revision ID: s001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sample_app_notes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("text", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sample_app_notes")
