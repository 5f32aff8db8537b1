"""Tables: rules and their versions (issue 8).

A rule's definition is one JSON document (``spec``, the shape of :class:`helan.rules.model.
RuleSpec`), checked before it is stored. ``version`` counts saves; every saved version is kept
in ``rule_versions`` (who saved it, when), so an alarm names the exact rule that raised it and
an edit can be compared with, or rolled back to, what ran before.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from helan.storage.meta.models import Base, utcnow


class Rule(Base):
    __tablename__ = "rules"

    tenant_id: Mapped[str] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    enabled: Mapped[bool] = mapped_column(default=True)
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(default=1)
    updated_by: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RuleVersion(Base):
    __tablename__ = "rule_versions"

    tenant_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    rule_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True)
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    saved_by: Mapped[str] = mapped_column(sa.String(100))
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["tenant_id", "rule_id"], ["rules.tenant_id", "rules.id"], ondelete="CASCADE"
        ),
    )
