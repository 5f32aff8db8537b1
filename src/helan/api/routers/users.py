"""People and their roles: a tenant's users, managed by its administrators
(``/api/v1/tenants/{tenant}/users``), and the platform's own accounts, platform administrators
and region viewers, managed by platform administrators (``/api/v1/users``). The rules are
:mod:`helan.services.users`'s."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from helan.api.deps import Admin, Meta, Paging, PlatformAdmin
from helan.api.schemas.common import Page
from helan.api.schemas.users import PlatformRole, TenantRole, UserCreate, UserOut, UserPatch
from helan.security.principal import Principal, Role
from helan.services import users
from helan.storage.meta import MetaStore

router = APIRouter(tags=["users"])

TENANT = "/api/v1/tenants/{tenant}/users"
PLATFORM = "/api/v1/users"
Text = Annotated[str | None, Query(max_length=200, description="Text in name or e-mail")]


def _new(body: UserCreate) -> users.NewUser:
    return users.NewUser(
        username=body.username,
        password=body.password,
        role=Role(body.role),
        region=body.region,
        display_name=body.display_name,
        email=body.email,
    )


def _changes(body: UserPatch) -> users.UserChanges:
    given: dict[str, Any] = body.model_dump(exclude_unset=True)
    if "role" in given:
        given["role"] = Role(given["role"])
    return users.UserChanges(**given)


def _page(
    meta: MetaStore, tenant: str | None, where: users.UserFilter, paging: Paging
) -> Page[UserOut]:
    rows, total = users.list_users(
        meta, tenant, where, limit=paging.limit, offset=paging.offset, sort=paging.sort
    )
    items = [UserOut.model_validate(r) for r in rows]
    return Page(items=items, total=total, limit=paging.limit, offset=paging.offset)


def _patch(
    meta: MetaStore, principal: Principal, tenant: str | None, username: str, body: UserPatch
) -> UserOut:
    changes = _changes(body)
    return UserOut.model_validate(users.update_user(meta, principal, tenant, username, changes))


# -- a tenant's users ---------------------------------------------------------------------------


@router.get(TENANT)
def list_users(
    tenant: str,
    _: Admin,
    meta: Meta,
    paging: Annotated[Paging, Depends()],
    role: TenantRole | None = None,
    disabled: bool | None = None,
    q: Text = None,
) -> Page[UserOut]:
    where = users.UserFilter(role=Role(role) if role else None, disabled=disabled, q=q)
    return _page(meta, tenant, where, paging)


@router.post(TENANT, status_code=201)
def create_user(tenant: str, body: UserCreate, principal: Admin, meta: Meta) -> UserOut:
    return UserOut.model_validate(users.create_user(meta, principal, tenant, _new(body)))


@router.get(f"{TENANT}/{{username}}")
def get_user(tenant: str, username: str, _: Admin, meta: Meta) -> UserOut:
    return UserOut.model_validate(users.get_user(meta, tenant, username))


@router.patch(f"{TENANT}/{{username}}")
def patch_user(
    tenant: str, username: str, body: UserPatch, principal: Admin, meta: Meta
) -> UserOut:
    """Changing the password unlocks the account; disabling it or changing its password ends
    its sessions (refresh tokens)."""
    return _patch(meta, principal, tenant, username, body)


@router.delete(f"{TENANT}/{{username}}", status_code=204)
def delete_user(tenant: str, username: str, principal: Admin, meta: Meta) -> Response:
    users.delete_user(meta, principal, tenant, username)
    return Response(status_code=204)


@router.delete(f"{TENANT}/{{username}}/factor", status_code=204)
def reset_factor(tenant: str, username: str, principal: Admin, meta: Meta) -> Response:
    """Remove a user's second factor (a lost authenticator) and end its sessions."""
    users.reset_factor(meta, principal, tenant, username)
    return Response(status_code=204)


@router.delete(f"{TENANT}/{{username}}/sessions", status_code=204)
def end_sessions(tenant: str, username: str, principal: Admin, meta: Meta) -> Response:
    """End every login of a user (refresh tokens at once, access tokens within seconds)."""
    users.end_sessions(meta, principal, tenant, username)
    return Response(status_code=204)


# -- the platform's accounts --------------------------------------------------------------------


@router.get(PLATFORM)
def list_platform_users(
    _: PlatformAdmin,
    meta: Meta,
    paging: Annotated[Paging, Depends()],
    role: PlatformRole | None = None,
    disabled: bool | None = None,
    q: Text = None,
) -> Page[UserOut]:
    """Platform administrators and region viewers (accounts of no tenant)."""
    where = users.UserFilter(role=Role(role) if role else None, disabled=disabled, q=q)
    return _page(meta, None, where, paging)


@router.post(PLATFORM, status_code=201)
def create_platform_user(body: UserCreate, principal: PlatformAdmin, meta: Meta) -> UserOut:
    """A platform administrator, or a region viewer with the ``region`` it oversees."""
    return UserOut.model_validate(users.create_user(meta, principal, None, _new(body)))


@router.get(f"{PLATFORM}/{{username}}")
def get_platform_user(username: str, _: PlatformAdmin, meta: Meta) -> UserOut:
    return UserOut.model_validate(users.get_user(meta, None, username))


@router.patch(f"{PLATFORM}/{{username}}")
def patch_platform_user(
    username: str, body: UserPatch, principal: PlatformAdmin, meta: Meta
) -> UserOut:
    return _patch(meta, principal, None, username, body)


@router.delete(f"{PLATFORM}/{{username}}", status_code=204)
def delete_platform_user(username: str, principal: PlatformAdmin, meta: Meta) -> Response:
    users.delete_user(meta, principal, None, username)
    return Response(status_code=204)


@router.delete(f"{PLATFORM}/{{username}}/factor", status_code=204)
def reset_platform_factor(username: str, principal: PlatformAdmin, meta: Meta) -> Response:
    users.reset_factor(meta, principal, None, username)
    return Response(status_code=204)


@router.delete(f"{PLATFORM}/{{username}}/sessions", status_code=204)
def end_platform_sessions(username: str, principal: PlatformAdmin, meta: Meta) -> Response:
    users.end_sessions(meta, principal, None, username)
    return Response(status_code=204)
