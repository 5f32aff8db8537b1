"""Tables: alarms, their history, and the (rule, device) pairs they are raised for (issue 8).

An ``alarms`` row is one occurrence: from the activation that raised it until it is back to
normal (then ``open`` is false and the row stays as history). At most one row per (tenant,
rule, device) is open: a partial unique index holds it, so two writers can never open a second
one. Times are epoch milliseconds: device time for condition changes, wall-clock time for
operator actions (the engine and the performance report both work in ms).

``alarm_pairs`` keeps what must outlive any single alarm: the last applied condition change
(its time makes a replay after a restart a no-op) and whether the pair is out of service.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from helan.storage.meta.models import Base, utcnow

BigId = sa.BigInteger().with_variant(sa.Integer, "sqlite")


class Alarm(Base):
    __tablename__ = "alarms"
    __table_args__ = (
        sa.Index(
            "ux_alarms_open_pair",
            "tenant_id",
            "rule_id",
            "device",
            unique=True,
            sqlite_where=sa.text("open"),
            postgresql_where=sa.text("open"),
        ),
        sa.Index("ix_alarms_tenant_raised", "tenant_id", "raised_ts"),
        sa.Index("ix_alarms_tenant_state", "tenant_id", "state"),
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(sa.ForeignKey("tenants.id", ondelete="CASCADE"))
    rule_id: Mapped[str] = mapped_column(sa.String(64))
    rule_version: Mapped[int] = mapped_column(default=1)
    device: Mapped[str] = mapped_column(sa.String(64))
    state: Mapped[str] = mapped_column(sa.String(16))
    open: Mapped[bool] = mapped_column(default=True)
    severity: Mapped[str] = mapped_column(sa.String(16))
    priority: Mapped[int] = mapped_column(default=3)
    message: Mapped[str] = mapped_column(sa.String(2000), default="")
    values: Mapped[dict[str, Any]] = mapped_column(default=dict)
    count: Mapped[int] = mapped_column(default=1)
    # What the rule's condition is now (the state an unshelve or a return to service goes to).
    condition_active: Mapped[bool] = mapped_column(default=True)
    raised_ts: Mapped[int] = mapped_column(sa.BigInteger)
    last_change_ts: Mapped[int] = mapped_column(sa.BigInteger)
    unack_since_ts: Mapped[int | None] = mapped_column(sa.BigInteger)  # escalation clock
    cleared_ts: Mapped[int | None] = mapped_column(sa.BigInteger)
    acknowledged_ts: Mapped[int | None] = mapped_column(sa.BigInteger)
    acknowledged_by: Mapped[str | None] = mapped_column(sa.String(100))
    assigned_to: Mapped[str | None] = mapped_column(sa.String(100))
    shelved_until: Mapped[int | None] = mapped_column(sa.BigInteger)
    shelve_reason: Mapped[str | None] = mapped_column(sa.String(2000))
    escalated: Mapped[bool] = mapped_column(default=False)
    quiet: Mapped[bool] = mapped_column(default=False)  # raised on historical data: no notices
    notices: Mapped[int] = mapped_column(default=0)  # notices sent (makes each key unique)
    committed_ms: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class AlarmHistory(Base):
    """Every transition and every operator action. ``rule_id``, ``device``, ``severity`` and
    ``priority`` are copied so that the performance report reads this table alone."""

    __tablename__ = "alarm_history"
    __table_args__ = (
        sa.Index("ix_alarm_history_alarm", "alarm_id", "id"),
        sa.Index("ix_alarm_history_tenant_ts", "tenant_id", "ts_ms"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(sa.ForeignKey("tenants.id", ondelete="CASCADE"))
    alarm_id: Mapped[str] = mapped_column(sa.ForeignKey("alarms.id", ondelete="CASCADE"))
    rule_id: Mapped[str] = mapped_column(sa.String(64))
    device: Mapped[str] = mapped_column(sa.String(64))
    ts_ms: Mapped[int] = mapped_column(sa.BigInteger)
    action: Mapped[str] = mapped_column(sa.String(32))
    from_state: Mapped[str] = mapped_column(sa.String(16))
    to_state: Mapped[str] = mapped_column(sa.String(16))
    actor: Mapped[str] = mapped_column(sa.String(100))  # "rules" for the engine, "system"
    comment: Mapped[str | None] = mapped_column(sa.String(2000))
    severity: Mapped[str] = mapped_column(sa.String(16))
    priority: Mapped[int] = mapped_column()
    values: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AlarmPair(Base):
    """One rule on one device: the last condition change applied, and its service flag."""

    __tablename__ = "alarm_pairs"

    tenant_id: Mapped[str] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    rule_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    device: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    last_ts_ms: Mapped[int | None] = mapped_column(sa.BigInteger)
    active: Mapped[bool] = mapped_column(default=False)
    in_service: Mapped[bool] = mapped_column(default=True)
    service_reason: Mapped[str | None] = mapped_column(sa.String(2000))
    service_by: Mapped[str | None] = mapped_column(sa.String(100))
    service_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
