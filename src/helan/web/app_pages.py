"""The console's page hook: which extra pages a tenant's navigation lists.

Apps declare pages with their ``console_pages`` hook (:class:`helan.apps.descriptors.ConsolePage`);
the apps component collects them, and a page is listed only for tenants that installed its app.
Code outside the apps framework (a plugin, a deployment's own page) calls :func:`register_page`.
The shell loads each listed module with ``import()`` from ``/apps/{app}/static/{module}`` (an
app's page) or the given URL, so CSP ``script-src 'self'`` still holds.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from starlette.concurrency import run_in_threadpool

from helan.core.errors import Forbidden, NotFound, Unauthenticated, ValidationFailed
from helan.platform import Platform
from helan.security.auth import Authenticator
from helan.security.policy import may_read
from helan.security.principal import Principal

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["console"])
_ID = re.compile(r"^[a-z][a-z0-9-]{0,63}$")
_URL = re.compile(r"^/[A-Za-z0-9_./-]+\.js$")
_lock = threading.Lock()


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtraPage:
    """A page not made by an app: ``module`` is a same-origin URL of an ES module whose
    ``render(root, {tenant, fetchJson, t})`` draws it."""

    id: str
    title_zh: str
    title_en: str
    module: str


_extra: dict[str, ExtraPage] = {}


def register_page(*, id: str, title_zh: str, title_en: str, module: str) -> None:
    """List a page in every tenant's navigation (ids are unique across apps and extras)."""
    if not _ID.match(id):
        raise ValidationFailed(f"console page id {id!r} is not a lower-case slug")
    if not title_zh or not title_en:
        raise ValidationFailed(f"console page {id!r} needs both a zh and an en title")
    if not _URL.match(module) or ".." in module.split("/") or module.startswith("//"):
        raise ValidationFailed(f"console page {id!r}: module {module!r} must be a /path.js URL")
    _extra[id] = ExtraPage(id=id, title_zh=title_zh, title_en=title_en, module=module)


def unregister_page(id: str) -> None:
    _extra.pop(id, None)


def _auth(request: Request) -> Authenticator:
    """The app's authenticator (the API's dependencies keep the same one on ``app.state``)."""
    state = request.app.state
    auth: Authenticator | None = getattr(state, "auth", None)
    if auth is None:
        with _lock:
            auth = getattr(state, "auth", None)
            if auth is None:
                platform: Platform = state.platform
                auth = Authenticator(platform.meta, platform.settings, platform.directory)
                state.auth = auth
    return auth


async def _principal(
    auth: Authenticator, authorization: str | None, api_key: str | None
) -> Principal:
    if api_key:
        known = auth.cached(api_key)
        return known if known is not None else await run_in_threadpool(auth.from_api_key, api_key)
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        token = token.strip()
        known = auth.cached(token)
        return known if known is not None else await run_in_threadpool(auth.from_bearer, token)
    raise Unauthenticated("credentials required: 'Authorization: Bearer <access token or API key>'")


def pages_for(platform: Platform, tenant: str) -> list[dict[str, Any]]:
    """The tenant's extra pages: its installed apps' pages, then the registered ones."""
    out: list[dict[str, Any]] = []
    apps = platform.apps
    if apps is not None:
        for found in apps.pages:
            if tenant not in apps.installs.tenants(found.app_id):
                continue
            page = found.page
            out.append(
                {
                    "id": page.id,
                    "app": found.app_id,
                    "title": {"zh-CN": page.title_zh, "en": page.title_en},
                    "module": f"/apps/{found.app_id}/static/{page.module}",
                }
            )
    for extra in sorted(_extra.values(), key=lambda p: p.id):
        out.append(
            {
                "id": extra.id,
                "app": None,
                "title": {"zh-CN": extra.title_zh, "en": extra.title_en},
                "module": extra.module,
            }
        )
    return out


@router.get("/console/pages", summary="Extra pages of the tenant's console navigation")
async def console_pages(
    tenant: str,
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    auth = _auth(request)
    principal = await _principal(auth, authorization, x_api_key)
    decision = may_read(principal, tenant, "console", tenant_exists=auth.tenant_exists)
    if decision.denial == "hidden":
        raise NotFound(decision.reason)
    if decision.denial is not None:
        raise Forbidden(decision.reason)
    return {"tenant": tenant, "items": pages_for(request.app.state.platform, tenant)}
