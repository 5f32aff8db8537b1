"""Tables: notification channels and the outbox (issue 8).

A channel's ``config`` holds its kind's settings, secrets included (the API never returns
them). The outbox (``notification_deliveries``) has one row per notice and channel, keyed by
``key`` (the notice's key and the channel id): the alarms insert rows in their own transaction
and the delivery worker sends them at least once. Rows carry no foreign key to their channel:
a rule naming a channel deleted since must not fail the alarm's transaction; the worker marks
such a row dead instead. ``lease_token``/``lease_until_ms`` let several processes share the
outbox without sending one row twice at once. ``notification_limits`` is a channel's rate
window, shared by every process the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from helan.storage.meta.models import Base, utcnow

BigId = sa.BigInteger().with_variant(sa.Integer, "sqlite")


class NotificationChannel(Base):
    __tablename__ = "notification_channels"

    tenant_id: Mapped[str] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(16))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    rate_per_minute: Mapped[int | None] = mapped_column()
    # {"start": "22:00", "end": "07:00", "timezone": "Asia/Shanghai", "weekdays": [1..7],
    #  "critical_bypass": true}; None: no quiet hours.
    quiet_hours: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NotificationDelivery(Base):
    """One notice for one channel. ``status``: pending | sent | dead | suppressed (rate limit;
    counted in the channel's next summary)."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        sa.Index("ix_notification_deliveries_due", "status", "next_attempt_ms"),
        sa.Index("ix_notification_deliveries_tenant", "tenant_id", "status", "id"),
        sa.Index("ix_notification_deliveries_lease", "lease_token"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(sa.String(400), unique=True)
    tenant_id: Mapped[str] = mapped_column(sa.ForeignKey("tenants.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(sa.String(64))
    alarm_id: Mapped[str] = mapped_column(sa.String(200))
    purpose: Mapped[str] = mapped_column(sa.String(16), default="notice")  # notice|summary|test
    severity: Mapped[str] = mapped_column(sa.String(16))
    notice: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    admitted: Mapped[bool] = mapped_column(default=False)  # counted by the rate limit once
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_ms: Mapped[int] = mapped_column(sa.BigInteger)
    lease_token: Mapped[str | None] = mapped_column(sa.String(32))
    lease_until_ms: Mapped[int | None] = mapped_column(sa.BigInteger)
    last_error: Mapped[str | None] = mapped_column(sa.String(2000))
    note: Mapped[str | None] = mapped_column(sa.String(200))  # e.g. held by quiet hours
    created_ms: Mapped[int] = mapped_column(sa.BigInteger)
    committed_ms: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    sent_ms: Mapped[int | None] = mapped_column(sa.BigInteger)
    retried_ms: Mapped[int | None] = mapped_column(sa.BigInteger)  # a dead letter sent again


class NotificationLimit(Base):
    """A channel's current rate window: admitted notices and those suppressed in it."""

    __tablename__ = "notification_limits"

    tenant_id: Mapped[str] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    channel_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    window_start_ms: Mapped[int] = mapped_column(sa.BigInteger)
    admitted: Mapped[int] = mapped_column(default=0)
    suppressed: Mapped[int] = mapped_column(default=0)
