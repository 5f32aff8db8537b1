"""devices.gateway_id: the device (an edge gateway) that connects on this one's behalf

Revision ID: 0005
Revises: 0004
Create Date: 2026-01-05

A composite foreign key to the same table keeps the gateway inside the device's tenant. SQLite
adds it by rebuilding ``devices`` (batch mode); no other table references ``devices``, so the
rebuild cascades nowhere.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("gateway_id", sa.String(length=64), nullable=True))
        batch.create_foreign_key(
            "fk_devices_gateway", "devices", ["tenant_id", "gateway_id"], ["tenant_id", "id"]
        )
        batch.create_index("ix_devices_tenant_gateway", ["tenant_id", "gateway_id"])


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_index("ix_devices_tenant_gateway")
        batch.drop_constraint("fk_devices_gateway", type_="foreignkey")
        batch.drop_column("gateway_id")
