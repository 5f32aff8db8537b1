"""tenants.ident_prefix: the enterprise identifier prefix

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-02

A unique index rather than a constraint: SQLite adds a column in place but needs a table rebuild
for a constraint, and rebuilding ``tenants`` would cascade through its foreign keys.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tenants", sa.Column("ident_prefix", sa.String(length=64), nullable=True))
    op.create_index("ix_tenants_ident_prefix", "tenants", ["ident_prefix"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_tenants_ident_prefix", table_name="tenants")
    op.drop_column("tenants", "ident_prefix")
