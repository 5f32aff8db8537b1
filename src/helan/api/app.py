"""The REST API: one FastAPI app; routers by resource live in ``helan.api.routers``.

Every failure becomes ``{"error": {"code", "message"[, "details"]}}`` with its status
(:mod:`helan.api.errors`), so a client sees one error shape whatever failed; the request guard
(:mod:`helan.api.limits`) bounds bodies and JSON depth before any route parses them; the
OpenAPI document lists each operation's errors (:mod:`helan.api.openapi`). Swagger UI at
``/docs`` is served from the package by the web console's routes (no CDN).
"""

from __future__ import annotations

import importlib
from functools import partial
from typing import TYPE_CHECKING

from fastapi import FastAPI

from helan import __version__
from helan.api import errors, openapi
from helan.api.limits import BULK_MAX_BODY, DEFAULT_MAX_BODY, RequestGuard
from helan.observe.http import HttpMetrics
from helan.observe.routes import ops_routes
from helan.services.trace import MAX_CAPTURE_BYTES

if TYPE_CHECKING:
    from helan.platform import Platform

# Router modules, each exposing ``router``; order is the order in the OpenAPI document.
ROUTERS = (
    "auth",
    "tenants",
    "users",
    "api_keys",
    "device_types",
    "devices",
    "products",
    "assets",
    "ingest",
    "telemetry",
    "live",
    "commands",
    "events",
    "regions",
    "dashboards",
    "stream",
    "exports",
    "reports",
    "rules",
    "alarms",
    "notifications",
    "security_assets",
    "security_warnings",
    "epcis",
    "epcis_admin",
    "trace_share",
    "region_indicators",
    "region_schemes",
    "region_credit",
    "region_experts",
    "apps",
)


def create_app(platform: Platform) -> FastAPI:
    app = FastAPI(
        title="Helan",
        version=__version__,
        description="Open industrial internet platform: devices, telemetry, identifiers, apps.",
        docs_url=None,  # helan.web serves /docs from vendored assets
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.platform = platform
    errors.install(app)
    openapi.install(app)
    max_body = platform.settings.max_request_bytes if platform is not None else DEFAULT_MAX_BODY
    app.add_middleware(RequestGuard, limit=partial(body_limit, max_body))
    app.add_middleware(HttpMetrics)  # outside the guard: its refusals are timed too
    # /metrics, /healthz, /readyz: no credentials (docs/operations.md: scrape privately).
    app.router.routes.extend(ops_routes(getattr(platform, "readiness", dict)))

    for name in ROUTERS:
        module = importlib.import_module(f"helan.api.routers.{name}")
        app.include_router(module.router)
    if platform is not None and platform.apps is not None:
        for router in platform.apps.routers:  # each under /api/v1/apps/{app id}
            app.include_router(router)
    if platform is not None and platform.ident is not None:
        # Handle.Net's REST API of the embedded identifier node (/api/handles...): plain
        # routes with their own Handle-style errors and Basic auth, outside /api/v1.
        app.router.routes.extend(platform.ident.rest_routes())
    return app


def body_limit(default: int, path: str) -> int | None:
    """The request guard's limit for ``path``; None where the route reads its body under its
    own limit (bulk ingest and device telemetry: ``max_payload_bytes``; Handle REST)."""
    if (
        path == "/api/v1/devices/me/telemetry"
        or (path.startswith("/api/v1/tenants/") and path.endswith("/ingest"))
        or path.startswith("/api/handles")
    ):
        return None
    if path.startswith("/api/v1/tenants/") and path.endswith("/epcis/capture"):
        return MAX_CAPTURE_BYTES  # EPCIS documents of many events; refused past it
    bulk = path.endswith((":bulk", "/rules:import"))  # 1000 exported rules exceed 256 KiB
    return max(default, BULK_MAX_BODY) if bulk else default
