"""Authentication and authorisation as FastAPI dependencies; every router guards itself with them.

Rules, in order: no usable credential → 401; a tenant the principal may not see → 404 (another
tenant's objects do not exist for you, so nothing leaks); a role or API-key scope too weak for
the action → 403. API-key scopes are matched to the resource family of the route (the last
known static segment after ``{tenant}``: ``devices``, ``telemetry`` ...); routes outside every
family need the ``admin`` scope, so a new route is closed to narrow keys by default.
"""

from __future__ import annotations

import base64
import binascii
import threading
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import APIKeyHeader, HTTPBasic, HTTPBearer
from fastapi.security.http import HTTPAuthorizationCredentials, HTTPBasicCredentials
from starlette.concurrency import run_in_threadpool

from helan.core.errors import Forbidden, NotFound, Unauthenticated
from helan.platform import Platform
from helan.security.auth import Authenticator
from helan.security.policy import key_allows, scope_family
from helan.security.principal import ADMINS, WRITERS, Principal, Role
from helan.storage.meta import MetaStore

MAX_LIMIT = 1000
# Every route's offset stops here: past it a query is a scan, and past 2**63 SQL overflows.
MAX_OFFSET = 2**31

_bearer = HTTPBearer(auto_error=False, description="User access token, or an API key hk_...")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key hk_...")
_auth_lock = threading.Lock()


class _DeviceBasic(HTTPBasic):
    """HTTP Basic for device credentials. Splits at the last ':' (device ids may contain ':',
    generated secrets never do) and reports bad encodings in the API's error shape."""

    async def __call__(self, request: Request) -> HTTPBasicCredentials | None:  # type: ignore[override]
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise Unauthenticated("malformed HTTP Basic credentials") from exc
        username, sep, password = decoded.rpartition(":")
        if not sep:
            raise Unauthenticated("malformed HTTP Basic credentials")
        return HTTPBasicCredentials(username=username, password=password)


_basic = _DeviceBasic(auto_error=False, description="Device credential: <device>@<tenant>")


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def get_meta(request: Request) -> MetaStore:
    return get_platform(request).meta


def get_auth(request: Request) -> Authenticator:
    """The app's authenticator, created on first use (it subscribes to metadata changes)."""
    state = request.app.state
    auth: Authenticator | None = getattr(state, "auth", None)
    if auth is None:
        with _auth_lock:
            auth = getattr(state, "auth", None)
            if auth is None:
                platform = get_platform(request)
                auth = Authenticator(platform.meta, platform.settings, platform.directory)
                state.auth = auth
    return auth


async def current_principal(
    auth: Annotated[Authenticator, Depends(get_auth)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
    basic: Annotated[HTTPBasicCredentials | None, Depends(_basic)],
) -> Principal:
    if api_key:
        known = auth.cached(api_key)
        return known if known is not None else await run_in_threadpool(auth.from_api_key, api_key)
    if bearer is not None and bearer.credentials:
        token = bearer.credentials
        known = auth.cached(token)
        return known if known is not None else await run_in_threadpool(auth.from_bearer, token)
    if basic is not None:
        return auth.from_device(basic.username, basic.password)
    raise Unauthenticated(
        "credentials required: 'Authorization: Bearer <access token or API key>', "
        "'X-API-Key', or HTTP Basic for a device"
    )


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def _family(request: Request) -> str:
    return scope_family(getattr(request.scope.get("route"), "path", ""))


def _key_allows(principal: Principal, family: str, *, write: bool) -> bool:
    return key_allows(principal.scopes, family, write=write)


def _see_tenant(tenant: str, principal: Principal, auth: Authenticator) -> None:
    if not principal.sees_tenant(tenant) or (
        principal.role is Role.PLATFORM_ADMIN and not auth.tenant_exists(tenant)
    ):
        raise NotFound(f"tenant {tenant!r} not found")


async def tenant_reader(
    tenant: str,
    request: Request,
    principal: CurrentPrincipal,
    auth: Annotated[Authenticator, Depends(get_auth)],
) -> Principal:
    """May read the tenant's objects."""
    _see_tenant(tenant, principal, auth)
    if principal.kind == "device":
        raise Forbidden("a device credential may only send its own data")
    if principal.kind == "api_key" and not _key_allows(principal, _family(request), write=False):
        raise Forbidden(f"API key lacks the scope for this resource ({_family(request)})")
    return principal


async def tenant_writer(
    principal: Annotated[Principal, Depends(tenant_reader)], request: Request
) -> Principal:
    """May change the tenant's devices, models, assets and data (operators and admins)."""
    if principal.role not in WRITERS:
        raise Forbidden(f"role {principal.role.value} may not modify this tenant's objects")
    if principal.kind == "api_key" and not _key_allows(principal, _family(request), write=True):
        raise Forbidden(f"API key lacks the write scope for this resource ({_family(request)})")
    return principal


async def tenant_admin(principal: Annotated[Principal, Depends(tenant_reader)]) -> Principal:
    """May manage the tenant's users, keys and settings and read its audit trail."""
    if principal.role not in ADMINS or (
        principal.kind == "api_key" and "admin" not in principal.scopes
    ):
        raise Forbidden("tenant administrator rights required")
    return principal


async def platform_admin(principal: CurrentPrincipal) -> Principal:
    if principal.role is not Role.PLATFORM_ADMIN:
        raise Forbidden("platform administrator rights required")
    return principal


Reader = Annotated[Principal, Depends(tenant_reader)]
Writer = Annotated[Principal, Depends(tenant_writer)]
Admin = Annotated[Principal, Depends(tenant_admin)]
PlatformAdmin = Annotated[Principal, Depends(platform_admin)]
Meta = Annotated[MetaStore, Depends(get_meta)]


class Paging:
    """``limit`` 1..1000 and ``offset`` ≥ 0, checked before any query runs."""

    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")] = 100,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip")] = 0,
        sort: Annotated[
            str | None,
            Query(max_length=200, description="Field, '-field' for descending, comma-separated"),
        ] = None,
    ) -> None:
        self.limit = limit
        self.offset = offset
        self.sort = sort
