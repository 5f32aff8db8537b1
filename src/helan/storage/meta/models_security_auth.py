"""Tables: the audit chain's head and signed checkpoints, login factors (TOTP and recovery
codes), login sessions and the login throttle (issue 13, items 1-2).

``audit_chain_head`` has one row (id 1): the last chained record's position and hash. Every
append updates it first, which takes the row lock on PostgreSQL and the write lock on SQLite,
so two processes appending at once queue instead of forking the chain. A checkpoint is the
position and hash of one record, signed with the platform's SM2 audit key; the retention job
writes one before deleting, so the first kept record's predecessor stays anchored.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from helan.storage.meta.models import Base, utcnow


class AuditChainHead(Base):
    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    hash: Mapped[str] = mapped_column(sa.String(64))


class AuditCheckpoint(Base):
    __tablename__ = "audit_checkpoints"

    seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    public_key: Mapped[str] = mapped_column(sa.String(130))  # uncompressed SM2 point, hex
    signature: Mapped[str] = mapped_column(sa.String(128))  # r || s, hex


class LoginFactor(Base):
    """A user's TOTP factor; ``secret`` is sealed (SM4-GCM). Unconfirmed until the first code
    is entered; ``last_step`` is the last accepted time step (a code is good once)."""

    __tablename__ = "login_factors"

    username: Mapped[str] = mapped_column(
        sa.ForeignKey("users.username", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[str] = mapped_column(sa.String(300))
    confirmed_at: Mapped[datetime | None]
    last_step: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecoveryCode(Base):
    __tablename__ = "login_recovery_codes"

    code_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    username: Mapped[str] = mapped_column(
        sa.ForeignKey("users.username", ondelete="CASCADE"), index=True
    )
    used_at: Mapped[datetime | None]


class LoginSession(Base):
    """One login: its refresh tokens share ``id`` as their family; revoking it revokes them."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    username: Mapped[str] = mapped_column(
        sa.ForeignKey("users.username", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    address: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(200))
    revoked_at: Mapped[datetime | None]


class LoginThrottle(Base):
    """Failed logins per key (``user:<name>`` or ``addr:<address>``) in the current window."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_start: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]
