"""products: produced units, batches and parts, with identifiers under the tenant's prefix

Revision ID: 0008
Revises: 0007
Create Date: 2026-01-20

A new table only, so no rebuild on SQLite. ``batch_id`` is a composite foreign key into the
table itself (a batch stays inside its tenant). ``made_by_id`` names a device but has no
foreign key on purpose: with one, a later batch-mode rebuild of ``devices`` on SQLite (as 0005
did) would fail while products point at devices; the API checks the reference instead.
Indexed for the list filters (batch, made_by, kind) and for the identifier sync, which reloads
the members of a changed batch and the products of a changed device.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=True),
        sa.Column("made_by_id", sa.String(length=64), nullable=True),
        sa.Column("produced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("identifier", sa.String(length=200), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "batch_id"],
            ["products.tenant_id", "products.id"],
            name="fk_products_batch",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.UniqueConstraint("identifier"),
    )
    op.create_index("ix_products_tenant_batch", "products", ["tenant_id", "batch_id"])
    op.create_index("ix_products_tenant_made_by", "products", ["tenant_id", "made_by_id"])
    op.create_index("ix_products_tenant_kind", "products", ["tenant_id", "kind"])


def downgrade() -> None:
    op.drop_index("ix_products_tenant_kind", table_name="products")
    op.drop_index("ix_products_tenant_made_by", table_name="products")
    op.drop_index("ix_products_tenant_batch", table_name="products")
    op.drop_table("products")
