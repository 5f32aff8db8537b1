"""A tenant's people and their roles; managed by the tenant's administrators."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.orm import Session

from helan.api.deps import Admin, Meta, Paging
from helan.api.schemas.common import Page
from helan.api.schemas.users import TenantRole, UserCreate, UserOut, UserPatch
from helan.core.errors import Conflict, NotFound
from helan.security.audit import audited
from helan.security.hashing import hash_password
from helan.storage.meta.models import RefreshToken, User
from helan.storage.meta.query import contains, order_by, page

router = APIRouter(prefix="/api/v1/tenants/{tenant}/users", tags=["users"])

SORT = {
    "username": User.username,
    "role": User.role,
    "created_at": User.created_at,
    "last_login_at": User.last_login_at,
}


def _user(s: Session, tenant: str, username: str) -> User:
    user = s.get(User, username)
    if user is None or user.tenant_id != tenant:
        raise NotFound(f"user {username!r} not found")
    return user


def _revoke_sessions(s: Session, username: str) -> None:
    s.execute(sa.delete(RefreshToken).where(RefreshToken.username == username))


@router.get("")
def list_users(
    tenant: str,
    _: Admin,
    meta: Meta,
    paging: Annotated[Paging, Depends()],
    role: TenantRole | None = None,
    disabled: bool | None = None,
    q: Annotated[str | None, Query(max_length=200, description="Text in name or e-mail")] = None,
) -> Page[UserOut]:
    stmt = sa.select(User).where(User.tenant_id == tenant)
    if role is not None:
        stmt = stmt.where(User.role == role)
    if disabled is not None:
        stmt = stmt.where(User.disabled == disabled)
    if q:
        stmt = stmt.where(
            sa.or_(
                contains(User.username, q), contains(User.display_name, q), contains(User.email, q)
            )
        )
    with meta.session() as s:
        rows, total = page(
            s,
            stmt,
            order=order_by(paging.sort, SORT, "username", [User.username]),
            limit=paging.limit,
            offset=paging.offset,
        )
        items = [UserOut.model_validate(r) for r in rows]
    return Page(items=items, total=total, limit=paging.limit, offset=paging.offset)


@router.post("", status_code=201)
def create_user(tenant: str, body: UserCreate, principal: Admin, meta: Meta) -> UserOut:
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="user.create",
        object_type="user",
        object_id=body.username,
    ) as s:
        if s.get(User, body.username) is not None:
            raise Conflict(f"username {body.username!r} is taken")
        user = User(
            username=body.username,
            tenant_id=tenant,
            role=body.role,
            display_name=body.display_name,
            email=body.email,
            password_hash=hash_password(body.password),
        )
        s.add(user)
        s.flush()
        return UserOut.model_validate(user)


@router.get("/{username}")
def get_user(tenant: str, username: str, _: Admin, meta: Meta) -> UserOut:
    with meta.session() as s:
        return UserOut.model_validate(_user(s, tenant, username))


@router.patch("/{username}")
def patch_user(
    tenant: str, username: str, body: UserPatch, principal: Admin, meta: Meta
) -> UserOut:
    """Changing the password unlocks the account; disabling it or changing its password ends
    its sessions (refresh tokens)."""
    changes = body.model_dump(exclude_unset=True)
    if username == principal.subject and ("role" in changes or changes.get("disabled")):
        raise Conflict("you may not change your own role or disable yourself")
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="user.update",
        object_type="user",
        object_id=username,
    ) as s:
        user = _user(s, tenant, username)
        if "password" in changes:
            user.password_hash = hash_password(changes.pop("password"))
            user.failed_logins = 0
            user.locked_until = None
            _revoke_sessions(s, username)
        if changes.get("disabled"):
            _revoke_sessions(s, username)
        for key, value in changes.items():
            setattr(user, key, value)
        s.flush()
        return UserOut.model_validate(user)


@router.delete("/{username}", status_code=204)
def delete_user(tenant: str, username: str, principal: Admin, meta: Meta) -> Response:
    if username == principal.subject:
        raise Conflict("you may not delete yourself")
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="user.delete",
        object_type="user",
        object_id=username,
    ) as s:
        s.delete(_user(s, tenant, username))
    return Response(status_code=204)
