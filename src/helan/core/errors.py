"""Errors that cross subsystem boundaries. The API maps them to HTTP status codes in one place."""

from __future__ import annotations

from typing import Any


class HelanError(Exception):
    """Base class; ``code`` is a stable machine-readable reason. ``details`` (optional) lists
    the errors behind this one in the API's validation shape (``loc``, ``message``, ``type``),
    so a request of many items answers for each of them in one response."""

    code = "error"
    status = 500

    def __init__(
        self, message: str, *, code: str | None = None, details: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code


class ValidationFailed(HelanError):
    code = "invalid"
    status = 422


class NotFound(HelanError):
    code = "not_found"
    status = 404


class Conflict(HelanError):
    code = "conflict"
    status = 409


class Unauthenticated(HelanError):
    code = "unauthenticated"
    status = 401


class Forbidden(HelanError):
    code = "forbidden"
    status = 403


class PayloadTooLarge(HelanError):
    code = "payload_too_large"
    status = 413


class StorageUnavailable(HelanError):
    code = "storage_unavailable"
    status = 503
