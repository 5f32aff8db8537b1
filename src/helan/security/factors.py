"""Login hardening: TOTP second factor with recovery codes, the password policy, and the
throttle by source address.

A TOTP factor (RFC 6238, 30 s, 6 digits) is enrolled unconfirmed and counts only once a code
from it was entered. Its secret is sealed (SM4-GCM). A code is accepted for the step before,
the current and the next, and only for a step later than the last one accepted, so a code
seen over a shoulder or in a log cannot be replayed, within its step or after. Ten recovery
codes are made on confirmation and kept as SHA-256 digests; each works once.

Platform administrators, tenant administrators and security officers must have a factor
(:data:`FACTOR_ROLES`). The throttle counts failures per source address across usernames, so
guessing many accounts from one address is slowed as one account is (the per-user lockout is
in :mod:`helan.security.auth`).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from importlib.resources import files

import pyotp
from sqlalchemy.orm import Session

from helan.core.errors import ValidationFailed
from helan.core.hashing import token_digest
from helan.security.crypto.seal import Sealer
from helan.security.principal import Role
from helan.storage.meta.models_security_auth import LoginFactor, LoginThrottle, RecoveryCode

FACTOR_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.TENANT_ADMIN, Role.SECURITY_OFFICER})
ISSUER = "Helan"
STEP_S = 30
RECOVERY_CODES = 10
MIN_PASSWORD = 12
# From one source address: this many failed logins within the window lock it for the window.
ADDRESS_FAILURES = 20
WINDOW = timedelta(minutes=15)
COMMON = frozenset(files("helan.security").joinpath("common_passwords.txt").read_text().split())


def requires_factor(role: str) -> bool:
    return role in FACTOR_ROLES


def check_password(username: str, password: str) -> None:
    """Refuse (422) a password that is short, contains the username, or is a common one."""
    lowered = password.lower()
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(f"the password needs at least {MIN_PASSWORD} characters")
    if username.lower() in lowered:
        raise ValidationFailed("the password must not contain the username")
    if lowered in COMMON or lowered.rstrip("0123456789!") in COMMON:
        raise ValidationFailed("the password is a commonly used one")


def enrol(s: Session, username: str, sealer: Sealer) -> str:
    """Start (or restart) enrolment: a new unconfirmed secret; returns the otpauth:// URI."""
    factor = s.get(LoginFactor, username)
    if factor is not None and factor.confirmed_at is not None:
        raise ValidationFailed("a factor is already enrolled; remove it first")
    secret = pyotp.random_base32()
    if factor is None:
        s.add(LoginFactor(username=username, secret=sealer.seal(secret), last_step=0))
    else:
        factor.secret, factor.last_step = sealer.seal(secret), 0
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def _accept(factor: LoginFactor, code: str, sealer: Sealer, now: datetime) -> bool:
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        return False
    totp = pyotp.TOTP(sealer.open(factor.secret))
    step = int(now.timestamp()) // STEP_S
    for candidate in (step - 1, step, step + 1):
        if candidate > factor.last_step and secrets.compare_digest(
            totp.generate_otp(candidate), code
        ):
            factor.last_step = candidate
            return True
    return False


def confirm(s: Session, username: str, code: str, sealer: Sealer, now: datetime) -> list[str]:
    """Confirm enrolment with a current code; returns the recovery codes (shown once)."""
    factor = s.get(LoginFactor, username)
    if factor is None or factor.confirmed_at is not None:
        raise ValidationFailed("no enrolment to confirm")
    if not _accept(factor, code, sealer, now):
        raise ValidationFailed("the code is wrong or already used")
    factor.confirmed_at = now
    s.query(RecoveryCode).filter_by(username=username).delete()
    codes = [secrets.token_hex(5) for _ in range(RECOVERY_CODES)]
    s.add_all(RecoveryCode(code_hash=token_digest(c), username=username) for c in codes)
    return codes


def has_factor(s: Session, username: str) -> bool:
    factor = s.get(LoginFactor, username)
    return factor is not None and factor.confirmed_at is not None


def verify_second(s: Session, username: str, code: str, sealer: Sealer, now: datetime) -> bool:
    """Whether ``code`` (a TOTP code or an unused recovery code) passes; spends it."""
    factor = s.get(LoginFactor, username)
    if factor is None or factor.confirmed_at is None:
        return False
    code = code.strip().replace(" ", "")
    if _accept(factor, code, sealer, now):
        return True
    row = s.get(RecoveryCode, token_digest(code.lower()))
    if row is None or row.username != username or row.used_at is not None:
        return False
    row.used_at = now
    return True


def remove(s: Session, username: str) -> bool:
    factor = s.get(LoginFactor, username)
    s.query(RecoveryCode).filter_by(username=username).delete()
    if factor is None:
        return False
    s.delete(factor)
    return True


def address_locked(s: Session, address: str | None, now: datetime) -> datetime | None:
    """Until when ``address`` is throttled, or None."""
    row = s.get(LoginThrottle, f"addr:{address}") if address else None
    if row is None or row.locked_until is None or row.locked_until <= now:
        return None
    return row.locked_until


def note_failure(s: Session, address: str | None, now: datetime) -> None:
    """Count a failed login from ``address``; lock it when the window's limit is reached."""
    if not address:
        return
    key = f"addr:{address[:64]}"
    row = s.get(LoginThrottle, key, with_for_update=True)
    if row is None:
        row = LoginThrottle(key=key, failures=0, window_start=now)
        s.add(row)
    if now - row.window_start > WINDOW:
        row.failures, row.window_start, row.locked_until = 0, now, None
    row.failures += 1
    if row.failures >= ADDRESS_FAILURES:
        row.locked_until = now + WINDOW
