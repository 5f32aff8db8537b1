"""asset inventory, CSAF advisories, KEV, matches

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06

New tables only: CSAF advisories (every version), the KEV catalog and the advisory alerts
already raised. The inventory is read from the devices and has no table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "security_advisories",
        sa.Column("tracking_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=50), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("publisher", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("current_release", sa.String(length=40), nullable=False),
        sa.Column("max_cvss", sa.Float(), nullable=True),
        sa.Column("cves", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("latest", sa.Boolean(), nullable=False),
        sa.Column("imported_by", sa.String(length=100), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tracking_id", "version"),
    )
    op.create_index(
        "ix_security_advisories_latest", "security_advisories", ["latest", "tracking_id"]
    )
    op.create_table(
        "security_kev",
        sa.Column("cve", sa.String(length=40), nullable=False),
        sa.Column("vendor", sa.String(length=200), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("date_added", sa.String(length=10), nullable=False),
        sa.Column("due_date", sa.String(length=10), nullable=True),
        sa.Column("ransomware", sa.Boolean(), nullable=False),
        sa.Column("catalog_version", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("cve"),
    )
    op.create_table(
        "security_advisory_alerts",
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("tracking_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=50), nullable=False),
        sa.Column("raised_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "device_id", "tracking_id"),
    )


def downgrade() -> None:
    op.drop_table("security_advisory_alerts")
    op.drop_table("security_kev")
    op.drop_index("ix_security_advisories_latest", table_name="security_advisories")
    op.drop_table("security_advisories")
