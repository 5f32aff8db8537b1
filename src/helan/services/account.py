"""One's own account: the second factor (TOTP with recovery codes) and the login sessions; and
what an administrator may do to another's (reset a lost factor, end every session).

Every change is audited (``auth.factor.*``, ``auth.session.*``) with the actor, so the chain
shows who enrolled, removed or reset a factor and who ended which login. An account whose role
requires a factor (:data:`helan.security.factors.FACTOR_ROLES`) may remove its own only by
proving it still holds it (a current or recovery code): a stolen access token alone cannot
strip the factor from an account.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
import segno
import sqlalchemy as sa
from sqlalchemy.orm import Session

from helan.core.errors import NotFound, ValidationFailed
from helan.security import factors
from helan.security.audit import audited
from helan.security.auth import Authenticator, revoke_session
from helan.security.principal import Principal
from helan.storage.meta import MetaStore
from helan.storage.meta.models import RefreshToken, User
from helan.storage.meta.models_security_auth import LoginFactor, LoginSession, RecoveryCode


@dataclass(frozen=True, slots=True)
class FactorStatus:
    enrolled: bool  # confirmed
    pending: bool  # enrolment started, not confirmed
    required: bool  # the account's role requires one
    enrol_by: datetime | None  # until when it may sign in without (required, not enrolled)
    recovery_codes_left: int
    confirmed_at: datetime | None


@dataclass(frozen=True, slots=True)
class Enrolment:
    otpauth_uri: str
    secret: str  # for authenticator apps that cannot scan
    qr_svg: str  # the URI as a QR code, to scan from the screen


def _user(s: Session, principal: Principal) -> User:
    user = s.get(User, principal.subject) if principal.kind == "user" else None
    if user is None:
        raise NotFound("only user accounts have second factors and sessions")
    return user


@contextmanager
def _own_account(
    meta: MetaStore, principal: Principal, action: str
) -> Iterator[tuple[Session, User]]:
    """A session on the caller's own user row, audited as ``action``."""
    with audited(
        meta,
        principal,
        tenant=principal.tenant,
        action=action,
        object_type="user",
        object_id=principal.subject,
    ) as s:
        yield s, _user(s, principal)


def factor_status(meta: MetaStore, auth: Authenticator, principal: Principal) -> FactorStatus:
    with meta.session() as s:
        user = _user(s, principal)
        factor = s.get(LoginFactor, user.username)
        left = s.scalar(
            sa.select(sa.func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.username == user.username, RecoveryCode.used_at.is_(None))
        )
        return FactorStatus(
            enrolled=factor is not None and factor.confirmed_at is not None,
            pending=factor is not None and factor.confirmed_at is None,
            required=factors.requires_factor(user.role),
            enrol_by=auth.factor_deadline(s, user),
            recovery_codes_left=int(left or 0),
            confirmed_at=factor.confirmed_at if factor is not None else None,
        )


def start_enrolment(meta: MetaStore, auth: Authenticator, principal: Principal) -> Enrolment:
    """A new unconfirmed secret (replacing an unconfirmed one); confirmed by its first code."""
    with _own_account(meta, principal, "auth.factor.enrol") as (s, user):
        uri = factors.enrol(s, user.username, auth.sealer)
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=4, border=2, xmldecl=False)
    totp = pyotp.parse_uri(uri)
    return Enrolment(otpauth_uri=uri, secret=totp.secret, qr_svg=buffer.getvalue().decode())


def confirm_enrolment(
    meta: MetaStore, auth: Authenticator, principal: Principal, code: str
) -> list[str]:
    """Confirm with a current code; the recovery codes, shown this once."""
    now = datetime.now(UTC)
    with _own_account(meta, principal, "auth.factor.confirm") as (s, user):
        return factors.confirm(s, user.username, code, auth.sealer, now)


def remove_factor(meta: MetaStore, auth: Authenticator, principal: Principal, code: str) -> None:
    """Remove one's own factor, proven with a current TOTP or an unused recovery code."""
    now = datetime.now(UTC)
    with _own_account(meta, principal, "auth.factor.remove") as (s, user):
        if not factors.has_factor(s, user.username):
            raise NotFound("no second factor is enrolled")
        if not factors.verify_second(s, user.username, code, auth.sealer, now):
            raise ValidationFailed("the code is wrong or already used")
        factors.remove(s, user.username)


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: str
    created_at: datetime
    last_seen_at: datetime
    address: str | None
    user_agent: str | None
    current: bool


def list_sessions(meta: MetaStore, principal: Principal) -> list[SessionInfo]:
    """The account's live logins, newest first (ended ones are not listed)."""
    with meta.session() as s:
        user = _user(s, principal)
        rows = s.scalars(
            sa.select(LoginSession)
            .where(LoginSession.username == user.username, LoginSession.revoked_at.is_(None))
            .order_by(LoginSession.last_seen_at.desc())
            .limit(200)
        )
        return [
            SessionInfo(
                id=r.id,
                created_at=r.created_at,
                last_seen_at=r.last_seen_at,
                address=r.address,
                user_agent=r.user_agent,
                current=r.id == principal.session,
            )
            for r in rows
        ]


def end_session(meta: MetaStore, principal: Principal, session_id: str) -> None:
    """End one of one's own logins (another account's does not exist for the caller)."""
    with audited(
        meta,
        principal,
        tenant=principal.tenant,
        action="auth.session.revoke",
        object_type="session",
        object_id=session_id[:64],
    ) as s:
        user = _user(s, principal)
        login = s.get(LoginSession, session_id)
        if login is None or login.username != user.username or login.revoked_at is not None:
            raise NotFound(f"session {session_id!r} not found")
        revoke_session(s, session_id, datetime.now(UTC))


def end_all_sessions(s: Session, username: str, *, keep: str | None = None) -> int:
    """End every login of ``username`` but ``keep``; how many were live. For password changes,
    disabled accounts and administrators' resets (the caller audits)."""
    now = datetime.now(UTC)
    ids = list(
        s.scalars(
            sa.select(LoginSession.id).where(
                LoginSession.username == username, LoginSession.revoked_at.is_(None)
            )
        )
    )
    for session_id in ids:
        if session_id != keep:
            revoke_session(s, session_id, now)
    # Refresh tokens from before sessions were recorded belong to no session row.
    rest = sa.update(RefreshToken).where(
        RefreshToken.username == username, RefreshToken.revoked_at.is_(None)
    )
    if keep is not None:
        rest = rest.where(RefreshToken.family != keep)
    s.execute(rest.values(revoked_at=now))
    return len([i for i in ids if i != keep])
