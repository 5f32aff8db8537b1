"""Authentication and authorisation as FastAPI dependencies; every router guards itself with them.

Rules, in order: no usable credential → 401; a tenant the principal may not see → 404 (another
tenant's objects do not exist for you, so nothing leaks); a role or API-key scope too weak for
the action → 403. API-key scopes are matched to the resource family of the route (the last
known static segment after ``{tenant}``: ``devices``, ``telemetry`` ...); routes outside every
family need the ``admin`` scope, so a new route is closed to narrow keys by default. A region
viewer sees no tenant (404 on every tenant route). The decisions are
:mod:`helan.security.policy`'s; these dependencies only turn a refusal into its error.
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
from helan.security.policy import (
    Decision,
    may_admin,
    may_admin_platform,
    may_read,
    may_write,
    scope_family,
)
from helan.security.principal import Principal
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


# What a token that only enrols a second factor may reach: the caller's own account.
ENROL_ONLY_PATHS = "/api/v1/auth/"


async def current_principal(
    request: Request,
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
        principal = known if known is not None else await run_in_threadpool(auth.from_bearer, token)
        if principal.enrol_only and not request.url.path.startswith(ENROL_ONLY_PATHS):
            raise Forbidden(
                "your role requires a second factor: enrol one (POST /api/v1/auth/factor), "
                "then sign in again",
                code="mfa_enrolment_required",
            )
        return principal
    if basic is not None:
        return auth.from_device(basic.username, basic.password)
    raise Unauthenticated(
        "credentials required: 'Authorization: Bearer <access token or API key>', "
        "'X-API-Key', or HTTP Basic for a device"
    )


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def _family(request: Request) -> str:
    return scope_family(getattr(request.scope.get("route"), "path", ""))


def enforce(decision: Decision) -> None:
    """Raise the error of a refused policy decision: 404 when hidden, else 403."""
    if decision.denial == "hidden":
        raise NotFound(decision.reason)
    if decision.denial is not None:
        raise Forbidden(decision.reason)


async def tenant_reader(
    tenant: str,
    request: Request,
    principal: CurrentPrincipal,
    auth: Annotated[Authenticator, Depends(get_auth)],
) -> Principal:
    """May read the tenant's objects."""
    enforce(may_read(principal, tenant, _family(request), tenant_exists=auth.tenant_exists))
    return principal


async def tenant_writer(
    tenant: str,
    request: Request,
    principal: CurrentPrincipal,
    auth: Annotated[Authenticator, Depends(get_auth)],
) -> Principal:
    """May change the tenant's devices, models, assets and data (operators and admins)."""
    enforce(may_write(principal, tenant, _family(request), tenant_exists=auth.tenant_exists))
    return principal


async def tenant_admin(
    tenant: str,
    request: Request,
    principal: CurrentPrincipal,
    auth: Annotated[Authenticator, Depends(get_auth)],
) -> Principal:
    """May manage the tenant's users, keys and settings and read its audit trail."""
    enforce(may_admin(principal, tenant, _family(request), tenant_exists=auth.tenant_exists))
    return principal


async def platform_admin(principal: CurrentPrincipal) -> Principal:
    enforce(may_admin_platform(principal))
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
