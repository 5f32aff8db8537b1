"""device_events: the events devices raise, validated against their thing model

Revision ID: 0007
Revises: 0006
Create Date: 2026-01-13

Before this table the MQTT ingest acknowledged events and only logged them. Unique on
(tenant, device, event, ts) so that a message the broker redelivers (QoS 1) is stored once;
indexed on (tenant, device, ts) for the newest-first listing of one device. No foreign keys:
like telemetry and commands, events are kept until the tenant's retention removes them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "device_id", "event", "ts", name="uq_device_events_key"),
    )
    op.create_index(
        "ix_device_events_tenant_device_ts",
        "device_events",
        ["tenant_id", "device_id", "ts"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_device_events_tenant_device_ts", table_name="device_events")
    op.drop_table("device_events")
