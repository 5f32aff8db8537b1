"""Turning credentials into a :class:`Principal`: passwords, access and refresh tokens, API keys,
device credentials. Every failure is :class:`Unauthenticated` (401) with a reason code."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from helan.config import Settings
from helan.core.errors import HelanError, Unauthenticated
from helan.core.hashing import (
    hash_password,
    new_token,
    password_needs_rehash,
    token_digest,
    verify_password,
)
from helan.core.thing import DeviceDirectory
from helan.security import audit, factors
from helan.security.crypto.seal import Sealer
from helan.security.principal import Principal, Role
from helan.security.tokens import AccessTokens, load_secret
from helan.storage.meta import MetaStore
from helan.storage.meta.models import ApiKey, RefreshToken, Tenant, User
from helan.storage.meta.models_security_auth import LoginSession

API_KEY_PREFIX = "hk_"
REFRESH_PREFIX = "hr_"
REFRESH_LIFETIME = timedelta(days=14)
# Lockout: after MAX_FAILURES wrong passwords in a row, wait LOCK_BASE_S, doubling per further
# failure up to LOCK_MAX_S. Slows online guessing to a few dozen tries an hour per account.
MAX_FAILURES = 5
LOCK_BASE_S = 30
LOCK_MAX_S = 900
# How long a resolved credential is trusted without asking the database again; any change to
# users, tenants or keys in this process clears the cache at once.
PRINCIPAL_TTL_S = 5.0
LAST_USED_EVERY = timedelta(seconds=60)


class LoginThrottled(HelanError):
    code = "login_locked"
    status = 429


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    # An account that must have a second factor and has none: until when it may go without
    # (``mfa_enrol_by``), or that this token only enrols one (``enrol_only``).
    mfa_enrol_by: datetime | None = None
    enrol_only: bool = False


def role_for_scopes(scopes: frozenset[str]) -> Role:
    if "admin" in scopes:
        return Role.TENANT_ADMIN
    if any(s.endswith(":write") for s in scopes):
        return Role.OPERATOR
    return Role.VIEWER


class Authenticator:
    def __init__(self, meta: MetaStore, settings: Settings, directory: DeviceDirectory) -> None:
        self.meta = meta
        self.directory = directory
        self.tokens = AccessTokens(load_secret(settings), settings.access_token_minutes)
        self.sealer = Sealer.from_settings(settings)
        self.mfa_grace = timedelta(days=settings.mfa_grace_days)
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._tenants: frozenset[str] | None = None
        self._lock = threading.Lock()
        meta.on_change(self._on_change)

    # -- people -------------------------------------------------------------------------------

    def login(
        self,
        username: str,
        password: str,
        *,
        otp: str | None = None,
        address: str | None = None,
        user_agent: str | None = None,
    ) -> TokenPair:
        """Password, then the second factor where the account has one (401 ``mfa_required``
        without ``otp``). Failures count per user and per source ``address``."""
        now = datetime.now(UTC)
        failure: HelanError | None = None
        with self.meta.session() as s:
            user = s.get(User, username[:64])
            tenant = s.get(Tenant, user.tenant_id) if user and user.tenant_id else None
            address_until = factors.address_locked(s, address, now)
            if address_until is not None:
                wait = int((address_until - now).total_seconds()) + 1
                failure = LoginThrottled(f"too many failed logins from {address}; wait {wait} s")
                result = "address_locked"
            elif user is not None and user.locked_until is not None and user.locked_until > now:
                wait = int((user.locked_until - now).total_seconds()) + 1
                failure = LoginThrottled(
                    f"too many failed logins for {username!r}; try again in {wait} s"
                )
                result = "locked"
            elif not verify_password(user.password_hash if user else None, password) or not user:
                failure = Unauthenticated("invalid username or password", code="bad_credentials")
                result = "bad_credentials"
                factors.note_failure(s, address, now)
                if user is not None:
                    user.failed_logins += 1
                    over = user.failed_logins - MAX_FAILURES
                    if over >= 0:
                        user.locked_until = now + timedelta(
                            seconds=min(LOCK_BASE_S * 2**over, LOCK_MAX_S)
                        )
            elif user.disabled or (tenant is not None and tenant.status != "active"):
                failure = Unauthenticated("account disabled or tenant suspended", code="disabled")
                result = "disabled"
            elif factors.has_factor(s, user.username) and not otp:
                failure = Unauthenticated(
                    "enter the code of your second factor", code="mfa_required"
                )
                result = "mfa_required"
            elif otp and not factors.verify_second(s, user.username, otp, self.sealer, now):
                failure = Unauthenticated("the code is wrong or already used", code="bad_otp")
                result = "bad_otp"
                factors.note_failure(s, address, now)
            else:
                user.failed_logins = 0
                user.locked_until = None
                user.last_login_at = now
                if password_needs_rehash(user.password_hash):
                    user.password_hash = hash_password(password)
                result = "ok"
            audit.record(
                s,
                actor_kind="user",
                actor=username,
                tenant=user.tenant_id if user else None,
                action="auth.login",
                object_type="user",
                object_id=username,
                result=result,
                detail={"address": address} if address else None,
            )
            if failure is None and user is not None:
                family = uuid.uuid4().hex
                s.add(
                    LoginSession(
                        id=family,
                        username=user.username,
                        created_at=now,
                        last_seen_at=now,
                        address=(address or None) and address[:64],
                        user_agent=(user_agent or None) and user_agent[:200],
                    )
                )
                return self._issue(s, user, family=family)
        raise failure or Unauthenticated("invalid username or password")

    def factor_deadline(self, s: sa.orm.Session, user: User) -> datetime | None:
        """Until when an account that must have a second factor may sign in without one (None:
        it need not, or has one). Past it, its logins only enrol a factor."""
        if Role(user.role) not in factors.FACTOR_ROLES or factors.has_factor(s, user.username):
            return None
        return user.created_at + self.mfa_grace

    def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate: the presented token is spent and a new pair issued. Presenting a spent token
        again means it leaked, so its whole family is revoked."""
        now = datetime.now(UTC)
        replayed = False
        with self.meta.session() as s:
            row = s.scalar(
                sa.select(RefreshToken).where(
                    RefreshToken.token_hash == token_digest(refresh_token)
                )
            )
            if row is None or row.revoked_at is not None or row.expires_at <= now:
                row = None
            elif row.used_at is not None:
                replayed = True
                s.execute(
                    sa.update(RefreshToken)
                    .where(RefreshToken.family == row.family, RefreshToken.revoked_at.is_(None))
                    .values(revoked_at=now)
                )
            else:
                user = s.get(User, row.username)
                tenant = s.get(Tenant, user.tenant_id) if user and user.tenant_id else None
                login = s.get(LoginSession, row.family)
                ended = login is not None and login.revoked_at is not None
                inactive = tenant is not None and tenant.status != "active"
                if user is None or user.disabled or inactive or ended:
                    row = None
                else:
                    row.used_at = now
                    if login is not None:
                        login.last_seen_at = now
                    return self._issue(s, user, family=row.family)
        if replayed:
            raise Unauthenticated(
                "refresh token already used; every token of this login is revoked",
                code="token_reused",
            )
        raise Unauthenticated("invalid or expired refresh token", code="invalid_token")

    def revoke_refresh(self, refresh_token: str) -> bool:
        with self.meta.session() as s:
            row = s.scalar(
                sa.select(RefreshToken).where(
                    RefreshToken.token_hash == token_digest(refresh_token)
                )
            )
            if row is None or row.revoked_at is not None:
                return False
            revoke_session(s, row.family, datetime.now(UTC))
            return True

    def _issue(self, s: sa.orm.Session, user: User, *, family: str) -> TokenPair:
        deadline = self.factor_deadline(s, user)
        enrol_only = deadline is not None and deadline <= datetime.now(UTC)
        access, expires_in = self.tokens.issue(
            user.username, user.tenant_id, user.role, session=family, enrol_only=enrol_only
        )
        refresh = new_token(REFRESH_PREFIX)
        s.add(
            RefreshToken(
                id=uuid.uuid4().hex,
                username=user.username,
                token_hash=token_digest(refresh),
                family=family,
                expires_at=datetime.now(UTC) + REFRESH_LIFETIME,
            )
        )
        return TokenPair(
            access_token=access,
            refresh_token=refresh,
            expires_in=expires_in,
            mfa_enrol_by=deadline,
            enrol_only=enrol_only,
        )

    # -- request credentials ------------------------------------------------------------------

    def from_bearer(self, token: str) -> Principal:
        """A user's access token or an API key (``hk_...``)."""
        if token.startswith(API_KEY_PREFIX):
            return self.from_api_key(token)
        return self._cached(token, self._resolve_access_token)

    def from_api_key(self, key: str) -> Principal:
        return self._cached(key, self._resolve_api_key)

    def from_device(self, username: str, password: str) -> Principal:
        ref = self.directory.authenticate(username, password)
        if ref is None:
            raise Unauthenticated("invalid device credential", code="bad_credentials")
        return Principal(kind="device", subject=ref.device, tenant=ref.tenant, role=Role.DEVICE)

    def _resolve_access_token(self, token: str) -> Principal:
        claims = self.tokens.verify(token)
        with self.meta.session() as s:
            user = s.get(User, claims.username)
            tenant = s.get(Tenant, user.tenant_id) if user and user.tenant_id else None
            if user is None or user.disabled:
                raise Unauthenticated("user no longer exists or is disabled", code="disabled")
            if tenant is not None and tenant.status != "active":
                raise Unauthenticated(f"tenant {tenant.id!r} is suspended", code="suspended")
            if claims.session is not None:
                login = s.get(LoginSession, claims.session)
                if login is not None and login.revoked_at is not None:
                    raise Unauthenticated("this login session was revoked", code="revoked")
            return Principal(
                kind="user",
                subject=user.username,
                tenant=user.tenant_id,
                role=Role(user.role),
                region=user.region,
                session=claims.session,
                enrol_only=claims.enrol_only,
            )

    def _resolve_api_key(self, key: str) -> Principal:
        now = datetime.now(UTC)
        with self.meta.session() as s:
            row = s.scalar(sa.select(ApiKey).where(ApiKey.key_hash == token_digest(key)))
            if row is None:
                raise Unauthenticated("unknown API key", code="bad_credentials")
            if row.revoked_at is not None:
                raise Unauthenticated("API key revoked", code="revoked")
            if row.expires_at is not None and row.expires_at <= now:
                raise Unauthenticated("API key expired", code="token_expired")
            tenant = s.get(Tenant, row.tenant_id)
            if tenant is None or tenant.status != "active":
                raise Unauthenticated(f"tenant {row.tenant_id!r} is suspended", code="suspended")
            if row.last_used_at is None or now - row.last_used_at > LAST_USED_EVERY:
                row.last_used_at = now
            scopes = frozenset(row.scopes)
            return Principal(
                kind="api_key",
                subject=row.id,
                tenant=row.tenant_id,
                role=role_for_scopes(scopes),
                scopes=scopes,
            )

    def cached(self, credential: str) -> Principal | None:
        """The principal for a credential resolved a moment ago, without touching the database."""
        hit = self._cache.get(credential)
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def tenant_exists(self, tenant: str) -> bool:
        tenants = self._tenants
        if tenants is None:
            with self.meta.session() as s:
                tenants = frozenset(s.scalars(sa.select(Tenant.id)))
            self._tenants = tenants
        return tenant in tenants

    def _cached(self, credential: str, resolve: Callable[[str], Principal]) -> Principal:
        now = time.monotonic()
        hit = self._cache.get(credential)
        if hit is not None and hit[0] > now:
            return hit[1]
        principal = resolve(credential)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[credential] = (now + PRINCIPAL_TTL_S, principal)
        return principal

    def _on_change(self, changes: Mapping[str, object]) -> None:
        if changes.keys() & {"users", "tenants", "api_keys", "login_sessions", "login_factors"}:
            with self._lock:
                self._cache.clear()
        if "tenants" in changes:
            self._tenants = None


def revoke_session(s: sa.orm.Session, session_id: str, now: datetime) -> bool:
    """End a login: its session row and every refresh token of its family (access tokens
    naming it are refused from the next check on). False when it was already ended."""
    login = s.get(LoginSession, session_id)
    ended = s.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.family == session_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount  # type: ignore[attr-defined]
    if login is not None and login.revoked_at is None:
        login.revoked_at = now
        return True
    return bool(ended)
