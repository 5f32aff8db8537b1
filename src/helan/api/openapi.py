"""The OpenAPI document as clients need it: every error status each operation can answer, in
the one error shape, and the syntax of the ids in paths.

FastAPI documents only 200 and its own 422 (in a ``{"detail"}`` shape this API never sends).
Every ``/api/v1`` operation can also answer 400 (unreadable body), 401, 403, 404, 409, 413 and
422; documenting them all lets a client (or schemathesis) hold the API to its document.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from helan.core.ids import DEVICE_ID, METRIC_NAME, TENANT_ID

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "stable machine-readable reason"},
                "message": {"type": "string"},
                "details": {
                    "type": "array",
                    "description": "the errors behind this one (at most 100)",
                    "items": {"type": "object"},
                },
            },
        }
    },
}
COMMON_ERRORS = (400, 401, 403, 404, 409, 413, 422)
# Errors only some operations answer: failed logins lock the account for a while.
OPERATION_ERRORS = {"/api/v1/auth/token": (429,)}
PATH_PATTERNS = {
    "tenant": TENANT_ID.pattern,
    "device": DEVICE_ID.pattern,
    "metric": METRIC_NAME.pattern,
}
_ERROR_REF = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_FASTAPI_422 = ("HTTPValidationError", "ValidationError")


def refine(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the error responses and id patterns to a generated document (in place)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    for path, item in schema.get("paths", {}).items():
        for op in item.values():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            for param in op.get("parameters", []):
                pattern = PATH_PATTERNS.get(param.get("name", ""))
                if param.get("in") == "path" and pattern is not None:
                    param.setdefault("schema", {})["pattern"] = pattern
            responses: dict[str, Any] = op["responses"]
            if path.startswith("/api/v1/"):
                for code in (*COMMON_ERRORS, *OPERATION_ERRORS.get(path, ())):
                    responses.setdefault(str(code), {})
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400:
                    response.setdefault("description", HTTPStatus(int(status)).phrase)
                    response["content"] = _ERROR_REF
    for name in _FASTAPI_422:
        components.pop(name, None)
    return schema


def install(app: FastAPI) -> None:
    """Serve the refined document at ``app.openapi_url`` (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = refine(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
