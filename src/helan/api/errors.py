"""One error shape for every failure the API answers: ``{"error": {"code", "message"[,
"details"]}}``.

Domain errors, request validation, Starlette's own HTTP errors (unknown route, wrong method,
unreadable body), bodies the request guard refuses and unexpected failures all go through
here, so a client parses errors one way whatever failed.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from helan.core.errors import HelanError

# A body with 100,000 bad fields must not answer with 100,000 details (it took 13.9 MB).
MAX_DETAILS = 100
_MESSAGE_ITEMS = 5

_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")

# Codes for the HTTP errors Starlette and FastAPI raise themselves.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    503: "unavailable",
}


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return JSONResponse({"error": error}, status, headers=headers)


def _validation_details(errors: Any) -> tuple[list[dict[str, Any]], str]:
    """The first :data:`MAX_DETAILS` errors, and a message that says how many there were."""
    total = len(errors)
    details = [
        {"loc": list(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type", "")}
        for e in errors[:MAX_DETAILS]
    ]
    message = "; ".join(
        f"{'.'.join(map(str, d['loc']))}: {d['message']}" for d in details[:_MESSAGE_ITEMS]
    )
    if total > _MESSAGE_ITEMS:
        shown = min(total, MAX_DETAILS)
        message += f" (and {total - _MESSAGE_ITEMS} more: {total} errors, {shown} in details)"
    return details, message


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path. Starlette's 405 names only the first
    route's, and FastAPI makes one route per method, so ask the router once per method."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    ]


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into the one error shape."""

    @app.exception_handler(HelanError)
    async def _helan_error(_: Request, exc: HelanError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return error_response(
            exc.status, exc.code, exc.message, details=exc.details, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        details, message = _validation_details(exc.errors())
        return error_response(422, "invalid", message, details=details)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        if exc.status_code == 404 and exc.detail == "Not Found":
            message = "no such route"
        headers = dict(exc.headers) if exc.headers else {}
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return error_response(exc.status_code, code, message, headers=headers or None)

    @app.exception_handler(RecursionError)
    async def _too_deep(_: Request, _exc: RecursionError) -> JSONResponse:
        # The request guard refuses deep JSON first; this catches any other deep structure.
        return error_response(422, "too_deep", "input is nested too deeply")

    @app.exception_handler(Exception)
    async def _internal(_: Request, _exc: Exception) -> JSONResponse:
        # Starlette still logs the traceback; the client gets the shape, not the details.
        return error_response(500, "internal", "internal error")
