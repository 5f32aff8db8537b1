"""alarms and their history

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04

New tables only (no rebuild on SQLite): alarms (one open row per tenant, rule and device, held
by a partial unique index), their history, and the (rule, device) pairs with the last applied
condition change and the out-of-service flag.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alarms",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column("device", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(length=2000), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("condition_active", sa.Boolean(), nullable=False),
        sa.Column("raised_ts", sa.BigInteger(), nullable=False),
        sa.Column("last_change_ts", sa.BigInteger(), nullable=False),
        sa.Column("unack_since_ts", sa.BigInteger(), nullable=True),
        sa.Column("cleared_ts", sa.BigInteger(), nullable=True),
        sa.Column("acknowledged_ts", sa.BigInteger(), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=100), nullable=True),
        sa.Column("assigned_to", sa.String(length=100), nullable=True),
        sa.Column("shelved_until", sa.BigInteger(), nullable=True),
        sa.Column("shelve_reason", sa.String(length=2000), nullable=True),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("quiet", sa.Boolean(), nullable=False),
        sa.Column("notices", sa.Integer(), nullable=False),
        sa.Column("committed_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ux_alarms_open_pair",
        "alarms",
        ["tenant_id", "rule_id", "device"],
        unique=True,
        sqlite_where=sa.text("open"),
        postgresql_where=sa.text("open"),
    )
    op.create_index("ix_alarms_tenant_raised", "alarms", ["tenant_id", "raised_ts"])
    op.create_index("ix_alarms_tenant_state", "alarms", ["tenant_id", "state"])
    op.create_table(
        "alarm_history",
        sa.Column("id", _ID, nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("alarm_id", sa.String(length=32), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("device", sa.String(length=64), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=False),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("comment", sa.String(length=2000), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["alarm_id"], ["alarms.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alarm_history_alarm", "alarm_history", ["alarm_id", "id"])
    op.create_index("ix_alarm_history_tenant_ts", "alarm_history", ["tenant_id", "ts_ms"])
    op.create_table(
        "alarm_pairs",
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("device", sa.String(length=64), nullable=False),
        sa.Column("last_ts_ms", sa.BigInteger(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("in_service", sa.Boolean(), nullable=False),
        sa.Column("service_reason", sa.String(length=2000), nullable=True),
        sa.Column("service_by", sa.String(length=100), nullable=True),
        sa.Column("service_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "rule_id", "device"),
    )


def downgrade() -> None:
    op.drop_table("alarm_pairs")
    op.drop_index("ix_alarm_history_tenant_ts", table_name="alarm_history")
    op.drop_index("ix_alarm_history_alarm", table_name="alarm_history")
    op.drop_table("alarm_history")
    op.drop_index("ix_alarms_tenant_state", table_name="alarms")
    op.drop_index("ix_alarms_tenant_raised", table_name="alarms")
    op.drop_index("ux_alarms_open_pair", table_name="alarms")
    op.drop_table("alarms")
