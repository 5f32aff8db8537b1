"""Tables: the regional security platform's warnings (issue 13).

A security officer publishes a warning (``vulnerability``: 漏洞预警, ``risk``: 风险通报) to the
tenants of some industries and regions (empty lists: all); each tenant it reaches answers with
one receipt row: acknowledged, remediating, remediated or not affected, with how many of its
assets it found affected. A tenant without a receipt has not acknowledged yet.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from helan.storage.meta.models import Base, utcnow


class SecurityWarning(Base):
    __tablename__ = "security_warnings"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    severity: Mapped[str] = mapped_column(sa.String(16))
    title: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    references: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)  # CVEs, advisory ids
    industries: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    regions: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    due_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    published_by: Mapped[str] = mapped_column(sa.String(100))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn: Mapped[bool] = mapped_column(default=False)


class SecurityWarningReceipt(Base):
    __tablename__ = "security_warning_receipts"

    warning_id: Mapped[str] = mapped_column(
        sa.ForeignKey("security_warnings.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[str] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(sa.String(16))
    affected_assets: Mapped[int] = mapped_column(default=0)
    note: Mapped[str] = mapped_column(sa.String(2000), default="")
    acknowledged_by: Mapped[str] = mapped_column(sa.String(100))
    acknowledged_at: Mapped[datetime] = mapped_column(default=utcnow)
    remediated_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
