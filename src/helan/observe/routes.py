"""``/metrics``, ``/healthz`` and ``/readyz``: the same three endpoints on every role.

``/metrics`` serves the default registry rather than a registry of this package's own: the
default one also holds the process and Python collectors (CPU, memory, open files, GC) and
whatever an installed app registers, and every metric here is registered there once at import.
The endpoints take no credentials (a scraper and a load balancer carry none): serve them on a
private interface or scrape network (docs/operations.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from helan import __version__

Readiness = Callable[[], Mapping[str, bool]]


def ops_routes(ready: Readiness) -> list[Route]:
    """The three endpoints; ``ready()`` names each readiness check and whether it passes."""

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    async def healthz(request: Request) -> Response:
        """The process is alive and serving: nothing else is checked (that is ``/readyz``)."""
        return JSONResponse({"status": "ok", "version": __version__})

    async def readyz(request: Request) -> Response:
        checks = dict(ready())
        failing = sorted(name for name, ok in checks.items() if not ok)
        if failing:
            return JSONResponse({"status": "not_ready", "failing": failing}, status_code=503)
        return JSONResponse({"status": "ready", "checks": checks})

    return [
        Route("/metrics", metrics, methods=["GET"], name="metrics"),
        Route("/healthz", healthz, methods=["GET"], name="healthz"),
        Route("/readyz", readyz, methods=["GET"], name="readyz"),
    ]


def ops_app(ready: Readiness) -> Starlette:
    """The ops endpoints alone, for a role that serves no REST API."""
    return Starlette(routes=ops_routes(ready))
