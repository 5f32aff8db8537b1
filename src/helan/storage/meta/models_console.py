"""Tables: dashboards and scheduled reports (issue 9).

A dashboard's layout and widgets are one JSON document (``spec``): it is read and written whole
by the console, exported and imported as is, and checked by :mod:`helan.services.dashboards`
before it is stored, so the database never holds a spec the console cannot draw. ``version``
counts saves (a save naming an older version is refused: two editors cannot silently overwrite
each other). The share token is kept as its SHA-256 digest only, like API keys.

A report run keeps its PDF in the row: a few hundred KB, readable by every process of the
platform (``helan run --role``) without a shared disk.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from helan.storage.meta.models import Base, utcnow


class Dashboard(Base):
    __tablename__ = "dashboards"
    __table_args__ = (sa.Index("ix_dashboards_tenant_owner", "tenant_id", "owner"),)

    tenant_id: Mapped[str] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.String(2000))
    owner: Mapped[str] = mapped_column(sa.String(100))
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(default=1)
    share_digest: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ReportDefinition(Base):
    """What a report shows (``source``: devices and metrics, or a dashboard's widgets), over
    which range, when it runs and who receives it."""

    __tablename__ = "report_definitions"

    tenant_id: Mapped[str] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    title_zh: Mapped[str] = mapped_column(sa.String(200))
    title_en: Mapped[str] = mapped_column(sa.String(200))
    language: Mapped[str] = mapped_column(sa.String(8), default="zh-CN")
    source: Mapped[dict[str, Any]] = mapped_column(default=dict)
    range_hours: Mapped[int] = mapped_column(default=24)
    schedule: Mapped[str | None] = mapped_column(sa.String(16))  # daily | weekly | monthly
    hour: Mapped[int] = mapped_column(default=6)
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Asia/Shanghai")
    recipients: Mapped[list[Any]] = mapped_column(default=list)
    enabled: Mapped[bool] = mapped_column(default=True)
    owner: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ReportRun(Base):
    """One rendering of a report: its range, its PDF, whom it was mailed to, or why it failed."""

    __tablename__ = "report_runs"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["tenant_id", "report_id"],
            ["report_definitions.tenant_id", "report_definitions.id"],
            ondelete="CASCADE",
        ),
        sa.Index("ix_report_runs_report", "tenant_id", "report_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
    )
    tenant_id: Mapped[str] = mapped_column(sa.String(32))
    report_id: Mapped[str] = mapped_column(sa.String(64))
    trigger: Mapped[str] = mapped_column(sa.String(16))  # schedule | manual
    status: Mapped[str] = mapped_column(sa.String(16))  # ok | failed
    range_start: Mapped[datetime] = mapped_column()
    range_end: Mapped[datetime] = mapped_column()
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    pdf: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    pdf_bytes: Mapped[int] = mapped_column(default=0)
    mailed_to: Mapped[list[Any]] = mapped_column(default=list)
    error: Mapped[str | None] = mapped_column(sa.String(2000))
