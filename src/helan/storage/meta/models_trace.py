"""Tables: traceability's metadata (issue 11). The events themselves live in the trace event
store (``helan.trace.store``), not here.

``trace_agreements``: what one tenant shares of its events, with another tenant of this
platform (``partner_tenant``), with the holder of a token (another platform's enterprise;
the SHA-256 of the token is kept, the token shown once), or with the public
(``audience = "public"``): the event types and the fields it lets through. ``trace_partners``:
another platform's trace service this tenant follows identifiers into (Handle prefix → base
URL and the token that platform's enterprise issued). ``trace_named_queries``: saved
standard query parameters. ``trace_subscriptions``: a named query's new matches POSTed to a
webhook, ``last_seq`` the capture position delivered up to (at-least-once)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from helan.storage.meta.models import Base, utcnow


class TraceAgreement(Base):
    __tablename__ = "trace_agreements"
    __table_args__ = (sa.Index("ix_trace_agreements_token", "token_hash"),)

    tenant_id: Mapped[str] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    audience: Mapped[str] = mapped_column(sa.String(16))  # tenant | token | public
    partner_tenant: Mapped[str | None] = mapped_column(sa.String(32))
    token_hash: Mapped[str | None] = mapped_column(sa.String(64))
    event_types: Mapped[list[Any]] = mapped_column(default=list)
    fields: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TracePartner(Base):
    __tablename__ = "trace_partners"

    tenant_id: Mapped[str] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    prefix: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    base_url: Mapped[str] = mapped_column(sa.String(500))
    remote_tenant: Mapped[str] = mapped_column(sa.String(32))
    token: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TraceNamedQuery(Base):
    __tablename__ = "trace_named_queries"

    tenant_id: Mapped[str] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TraceSubscription(Base):
    __tablename__ = "trace_subscriptions"

    tenant_id: Mapped[str] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    query_name: Mapped[str] = mapped_column(sa.String(64))
    dest: Mapped[str] = mapped_column(sa.String(500))
    last_seq: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    delivered: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    failures: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
