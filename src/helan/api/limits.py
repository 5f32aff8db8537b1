"""The request guard: bounded bodies, readable JSON, shallow JSON, before any route sees them.

Why a middleware: FastAPI parses a JSON body with :func:`json.loads` before the route runs, so
a 10,000-deep array raised RecursionError (500, unauthenticated), invalid UTF-8 answered
FastAPI's own ``{"detail": ...}``, and a 1 MB body of unknown keys cost seconds of validation.
The guard reads the body (refusing it with 413 past ``max_body`` bytes, before reading on),
checks that a JSON body is UTF-8 and nested at most :data:`MAX_JSON_DEPTH` deep (a scan at C
speed: strings removed by one regex, then a running sum of the brackets), and replays it to the app.

Routes that stream large bodies with their own limit (bulk ingest, a device's telemetry, the
Handle REST API) are passed through untouched; the ``...:bulk`` routes (10,000 objects a
request) get :data:`BULK_MAX_BODY`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from email.message import Message

import numpy as np
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as AsgiMessage

from helan.api.errors import error_response

MAX_JSON_DEPTH = 64  # a thing model nests five deep; Python's own parsers fail near 1,000
DEFAULT_MAX_BODY = 256 * 1024
BULK_MAX_BODY = 8 << 20  # 10,000 products with attributes are a few MB

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_OPEN_ARRAY, _OPEN_OBJECT = ord("["), ord("{")


def too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the arrays and objects of ``body`` nest deeper than ``limit`` (unbalanced or
    malformed text is left to the parser, which reports it precisely)."""
    brackets = np.frombuffer(_STRING.sub(b"", body).translate(None, _NOT_BRACKET), np.uint8)
    opens = (brackets == _OPEN_ARRAY) | (brackets == _OPEN_OBJECT)
    if int(np.count_nonzero(opens)) <= limit:
        return False
    # A running sum in numpy: the guard runs before authentication, on bodies up to 8 MiB,
    # so a Python loop over them (2 s for 16 MiB of '[') would be a denial of service.
    steps = opens.view(np.int8) * np.int8(2) - np.int8(1)
    return int(np.cumsum(steps, dtype=np.int32).max()) > limit


def is_json(content_type: str | None) -> bool:
    """Whether FastAPI would parse this body as JSON (no content type counts, as it does)."""
    if not content_type:
        return True
    message = Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


class RequestGuard:
    """ASGI middleware; ``limit(path)`` is the body limit of a route, None for the routes that
    bound (and read) their own bodies."""

    def __init__(self, app: ASGIApp, *, limit: Callable[[str], int | None]) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limit(scope["path"]) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(f"body of {declared} bytes", limit)(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _too_large("body", limit)(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body and is_json(headers.get("content-type")):
            problem = _json_problem(body)
            if problem is not None:
                await error_response(*problem)(scope, receive, send)
                return
        await self.app(scope, _replay(body, receive), send)


def _too_large(what: str, limit: int) -> ASGIApp:
    return error_response(413, "payload_too_large", f"{what} exceeds the limit of {limit} bytes")


def _json_problem(body: bytes) -> tuple[int, str, str] | None:
    """Status, code and message for a JSON body no route should parse; None if it is fine."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return 400, "bad_encoding", f"body is not valid UTF-8 (byte {exc.start})"
    if too_deep(body):
        return 422, "too_deep", f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body already read, then defers to the client."""
    sent = False

    async def replay() -> AsgiMessage:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
