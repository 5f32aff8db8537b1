"""users.region: the administrative division a region viewer oversees

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

Nullable and empty for existing rows: only the new ``region_viewer`` role carries a region
(GB/T 2260, six digits). A plain ADD COLUMN: no table rebuild on SQLite.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("region", sa.String(length=6), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("region")
