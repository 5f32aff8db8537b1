"""People: a tenant's users and the platform's own accounts (administrators, region viewers).

Each account has one role. The tenant roles (``tenant_admin``, ``operator``, ``viewer``) belong
to one tenant and carry no region; the platform roles (``platform_admin``, ``region_viewer``)
belong to no tenant, and a region viewer must carry the division it oversees (GB/T 2260). Only a
platform administrator grants a platform role (:func:`helan.security.policy.may_grant_role`).
The caller has checked that the actor administers the tenant (or, for ``tenant=None``, the
platform) whose accounts it names; an account of another tenant does not exist for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from helan.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from helan.core.hashing import hash_password
from helan.security import factors
from helan.security.audit import audited
from helan.security.factors import check_password
from helan.security.policy import may_grant_role
from helan.security.principal import PLATFORM_ROLES, Principal, Role
from helan.services.account import end_all_sessions
from helan.storage.meta import MetaStore
from helan.storage.meta.codes import validate_region
from helan.storage.meta.models import User
from helan.storage.meta.query import contains, order_by, page

SORT = {
    "username": User.username,
    "role": User.role,
    "created_at": User.created_at,
    "last_login_at": User.last_login_at,
}


class Keep(Enum):
    """Marks a field of :class:`UserChanges` that stays as it is (None clears a field)."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True, slots=True, kw_only=True)
class NewUser:
    username: str
    password: str
    role: Role
    region: str | None = None
    display_name: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UserChanges:
    """What to change; a new password unlocks the account. A role without a region drops the
    region it had unless ``region`` is given too (then the region is refused)."""

    role: Role | Keep = KEEP
    region: str | Keep | None = KEEP
    display_name: str | Keep | None = KEEP
    email: str | Keep | None = KEEP
    disabled: bool | Keep = KEEP
    password: str | Keep = KEEP


@dataclass(frozen=True, slots=True, kw_only=True)
class UserFilter:
    role: Role | None = None
    disabled: bool | None = None
    q: str | None = None  # text in the name, display name or e-mail


def account_region(role: Role, tenant: str | None, region: str | None) -> str | None:
    """The region an account of ``role`` in ``tenant`` (None: a platform account) stores, or
    :class:`ValidationFailed` saying why the combination is impossible."""
    if role is Role.DEVICE:
        raise ValidationFailed("device is not a role of people; devices have credentials")
    if role in PLATFORM_ROLES and tenant is not None:
        raise ValidationFailed(f"role {role.value} belongs to no tenant: it is a platform account")
    if role not in PLATFORM_ROLES and tenant is None:
        raise ValidationFailed(f"role {role.value} belongs to a tenant, not to the platform")
    if role is Role.REGION_VIEWER:
        if region is None:
            raise ValidationFailed(
                "a region viewer needs a region: the GB/T 2260 code of the division it oversees"
            )
        return validate_region(region)
    if region is not None:
        raise ValidationFailed(f"only a region viewer has a region; role {role.value} has none")
    return None


def _user(s: Session, tenant: str | None, username: str) -> User:
    user = s.get(User, username)
    if user is None or user.tenant_id != tenant:
        raise NotFound(f"user {username!r} not found")
    return user


def _revoke_sessions(s: Session, username: str) -> None:
    end_all_sessions(s, username)


USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{2,63}$")
MAX_PASSWORD = 256


def check_new_password(username: str, password: str) -> None:
    """The password policy (:func:`helan.security.factors.check_password`: length, not the
    username, not a common password) for every way a password is set."""
    if len(password) > MAX_PASSWORD:
        raise ValidationFailed(f"the password may have at most {MAX_PASSWORD} characters")
    check_password(username, password)


def _check_username(username: str) -> None:
    if not USERNAME.fullmatch(username):
        raise ValidationFailed(f"invalid username {username!r}: must match {USERNAME.pattern}")


def _grant(actor: Principal, role: Role) -> None:
    decision = may_grant_role(actor, role)
    if not decision:
        raise Forbidden(decision.reason)


def list_users(
    meta: MetaStore,
    tenant: str | None,
    where: UserFilter,
    *,
    limit: int,
    offset: int = 0,
    sort: str | None = None,
) -> tuple[list[User], int]:
    """One page of the accounts of ``tenant`` (None: the platform's own accounts) and their
    total; ``sort`` is ``field`` or ``-field`` from :data:`SORT`, comma-separated."""
    stmt = sa.select(User).where(
        User.tenant_id.is_(None) if tenant is None else User.tenant_id == tenant
    )
    if where.role is not None:
        stmt = stmt.where(User.role == where.role.value)
    if where.disabled is not None:
        stmt = stmt.where(User.disabled == where.disabled)
    if where.q:
        stmt = stmt.where(
            sa.or_(
                contains(User.username, where.q),
                contains(User.display_name, where.q),
                contains(User.email, where.q),
            )
        )
    with meta.session() as s:
        rows, total = page(
            s,
            stmt,
            order=order_by(sort, SORT, "username", [User.username]),
            limit=limit,
            offset=offset,
        )
    return rows, total


def get_user(meta: MetaStore, tenant: str | None, username: str) -> User:
    with meta.session() as s:
        return _user(s, tenant, username)


def create_user(meta: MetaStore, actor: Principal, tenant: str | None, new: NewUser) -> User:
    _check_username(new.username)
    check_new_password(new.username, new.password)
    region = account_region(new.role, tenant, new.region)
    _grant(actor, new.role)
    with audited(
        meta,
        actor,
        tenant=tenant,
        action="user.create",
        object_type="user",
        object_id=new.username,
    ) as s:
        if s.get(User, new.username) is not None:
            raise Conflict(f"username {new.username!r} is taken")
        user = User(
            username=new.username,
            tenant_id=tenant,
            role=new.role.value,
            region=region,
            display_name=new.display_name,
            email=new.email,
            password_hash=hash_password(new.password),
        )
        s.add(user)
        s.flush()
        return user


def update_user(
    meta: MetaStore, actor: Principal, tenant: str | None, username: str, changes: UserChanges
) -> User:
    """Disabling an account or changing its password ends its sessions (refresh tokens)."""
    if username == actor.subject and (changes.role is not KEEP or changes.disabled is True):
        raise Conflict("you may not change your own role or disable yourself")
    with audited(
        meta,
        actor,
        tenant=tenant,
        action="user.update",
        object_type="user",
        object_id=username,
    ) as s:
        user = _user(s, tenant, username)
        role = Role(user.role) if changes.role is KEEP else changes.role
        if changes.region is not KEEP:
            region = changes.region
        else:
            region = user.region if role is Role.REGION_VIEWER else None
        user.region = account_region(role, tenant, region)
        if changes.role is not KEEP:
            _grant(actor, role)
        user.role = role.value
        if changes.password is not KEEP:
            check_new_password(username, changes.password)
            user.password_hash = hash_password(changes.password)
            user.failed_logins = 0
            user.locked_until = None
            _revoke_sessions(s, username)
        if changes.disabled is not KEEP:
            if changes.disabled:
                _revoke_sessions(s, username)
            user.disabled = changes.disabled
        if changes.display_name is not KEEP:
            user.display_name = changes.display_name
        if changes.email is not KEEP:
            user.email = changes.email
        s.flush()
        return user


def delete_user(meta: MetaStore, actor: Principal, tenant: str | None, username: str) -> None:
    if username == actor.subject:
        raise Conflict("you may not delete yourself")
    with audited(
        meta,
        actor,
        tenant=tenant,
        action="user.delete",
        object_type="user",
        object_id=username,
    ) as s:
        s.delete(_user(s, tenant, username))


def reset_factor(meta: MetaStore, actor: Principal, tenant: str | None, username: str) -> None:
    """Remove another account's second factor (a lost phone) and end its sessions; it enrols
    again at its next login. Audited as ``auth.factor.reset``."""
    if username == actor.subject:
        raise Conflict("remove your own factor with a code of it (DELETE /api/v1/auth/factor)")
    with audited(
        meta,
        actor,
        tenant=tenant,
        action="auth.factor.reset",
        object_type="user",
        object_id=username,
    ) as s:
        user = _user(s, tenant, username)
        if not factors.remove(s, user.username):
            raise NotFound(f"user {username!r} has no second factor")
        _revoke_sessions(s, username)


def end_sessions(meta: MetaStore, actor: Principal, tenant: str | None, username: str) -> int:
    """End every login of another account (audited as ``auth.session.revoke_all``)."""
    with audited(
        meta,
        actor,
        tenant=tenant,
        action="auth.session.revoke_all",
        object_type="user",
        object_id=username,
        detail={},
    ) as s:
        _user(s, tenant, username)
        return end_all_sessions(s, username)
