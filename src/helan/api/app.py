"""The REST API: one FastAPI app; routers by resource live in ``helan.api.routers``.

Every domain error becomes ``{"error": {"code", "message"}}`` with the error's status, so a
client sees one error shape whatever failed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from helan import __version__
from helan.core.errors import HelanError

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
)


def create_app(platform: Platform) -> FastAPI:
    app = FastAPI(
        title="Helan",
        version=__version__,
        description="Open industrial internet platform: devices, telemetry, identifiers, apps.",
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.platform = platform

    @app.exception_handler(HelanError)
    async def _helan_error(_: Request, exc: HelanError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        error: dict[str, Any] = {"code": exc.code, "message": exc.message}
        if exc.details is not None:
            error["details"] = exc.details
        return JSONResponse({"error": error}, exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        message = "; ".join(f"{'.'.join(map(str, d['loc']))}: {d['message']}" for d in details)
        return JSONResponse(
            {"error": {"code": "invalid", "message": message, "details": details}}, 422
        )

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    for name in ROUTERS:
        module = importlib.import_module(f"helan.api.routers.{name}")
        app.include_router(module.router)
    if platform is not None and platform.ident is not None:
        # Handle.Net's REST API of the embedded identifier node (/api/handles...): plain
        # routes with their own Handle-style errors and Basic auth, outside /api/v1.
        app.router.routes.extend(platform.ident.rest_routes())
    return app
