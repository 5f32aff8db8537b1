"""HTTP request latency as a pure ASGI middleware.

Pure ASGI rather than Starlette's ``BaseHTTPMiddleware``: that one runs the app in a task of its
own and streams the body through a queue, which costs every request and breaks streaming. The
route label is the matched route's template (``/api/v1/tenants/{tenant}/devices``), read from
the scope after the router ran, so ids in paths never become label values. FastAPI records
only its own routes there; the plain Starlette routes at the top of the app (``/metrics``, the
Handle REST API, ``/openapi.json``) are matched again here, only when no route was recorded.
"""

from __future__ import annotations

import time

from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from helan.observe.metrics import HTTP_REQUEST_SECONDS

# Anything else a client sends as a method is one value, not a new series each.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"


def route_of(scope: Scope) -> str:
    """The template of the route the router matched, or ``unmatched`` (404s, guard refusals)."""
    route = scope.get("route") or _plain_route(scope)
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


def _plain_route(scope: Scope) -> BaseRoute | None:
    """The app's top-level Starlette route for this request (full match first, then the
    partial one a 405 answers), or None."""
    partial = None
    for route in getattr(getattr(scope.get("app"), "router", None), "routes", ()):
        if isinstance(route, Route):
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return route
            if match is Match.PARTIAL and partial is None:
                partial = route
    return partial


class HttpMetrics:
    """Observes ``helan_http_request_duration_seconds`` for every HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # an exception before any response: the server answers 500
        started = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "other"
            HTTP_REQUEST_SECONDS.labels(method, route_of(scope), str(status)).observe(
                time.perf_counter() - started
            )
