"""What every REST handler of a node shares: JSON replies, Handle errors, Basic credentials."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import unquote

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from helan.ident.codes import HTTP_STATUS, ResponseCode
from helan.ident.errors import HandleError
from helan.ident.registry import Credential, Identity, Registry
from helan.ident.templates import TemplateViolation

T = TypeVar("T")


def json_response(
    status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(payload), status, headers, media_type="application/json")


def error_response(exc: HandleError, handle: str) -> Response:
    headers = {"WWW-Authenticate": 'Basic realm="handle"'} if exc.status == 401 else None
    body: dict[str, Any] = {"responseCode": int(exc.rc), "handle": handle, "message": exc.message}
    if isinstance(exc, TemplateViolation):
        body["template"] = exc.template
        body["violations"] = [{"item": i, "message": p} for i, p in exc.problems]
    return json_response(HTTP_STATUS.get(exc.rc, 500), body, headers)


def credential(request: Request) -> Credential:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or not token:
        raise HandleError(ResponseCode.AUTHENTICATION_NEEDED, "writes need Basic authentication")
    try:
        decoded = base64.b64decode(token, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise HandleError(ResponseCode.INVALID_CREDENTIAL, "malformed Basic credentials") from None
    user, _, secret = decoded.partition(":")
    if user.isdigit():  # "300:0.NA/x:secret", the user not percent-encoded
        handle, _, secret = secret.partition(":")
        user = f"{user}:{handle}"
    index, sep, handle = unquote(user).partition(":")
    if not sep or not index.isdigit():
        raise HandleError(ResponseCode.INVALID_CREDENTIAL, "user must be 'index:handle'")
    return Credential(handle, int(index), secret.encode("utf-8"))


async def on_store(registry: Registry, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` in a worker thread when the store blocks on the network, else inline."""
    if registry.store.blocking:
        return await run_in_threadpool(fn, *args, **kwargs)
    return fn(*args, **kwargs)


async def identify(registry: Registry, request: Request) -> Identity:
    return await on_store(registry, registry.authenticate, credential(request))
