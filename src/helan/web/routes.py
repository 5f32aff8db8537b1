"""The web console's first page: sign in, then the tenant's devices live; and the API's
Swagger UI at ``/docs``.

Plain HTML + JavaScript shipped in the package (no CDN, no build step; Swagger UI's assets are
vendored under ``static/swagger``, see its SOURCE), so both work on a machine offline. The page
talks to the REST API like any other client: the token lives in the tab's sessionStorage, never
in a cookie, so the API needs no CSRF defence for it.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

from helan.core.errors import NotFound
from helan.web.i18n import LANGUAGES, catalogue, negotiate

router = APIRouter(include_in_schema=False)

ASSETS = {
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
    "messages.json": "application/json",
    "logo.svg": "image/svg+xml",
}
SWAGGER_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@cache
def _static(name: str, folder: str = "") -> bytes:
    path = resources.files("helan.web").joinpath("static")
    return (path.joinpath(folder) if folder else path).joinpath(name).read_bytes()


@router.get("/", response_class=HTMLResponse)
def index(
    lang: Annotated[str | None, Query(description="zh-CN or en")] = None,
    accept_language: Annotated[str | None, Header()] = None,
) -> HTMLResponse:
    chosen = lang if lang in LANGUAGES else negotiate(accept_language)
    title = catalogue()[chosen]["app_title"]
    html = _static("index.html").decode().replace("__LANG__", chosen).replace("__TITLE__", title)
    headers = {**SECURITY_HEADERS, "Content-Language": chosen, "Vary": "Accept-Language"}
    return HTMLResponse(html, headers=headers)


@router.get("/console/{name}")
def asset(name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound(f"no console asset {name!r}")
    return Response(
        _static(name),
        media_type=media_type,
        headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"},
    )


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    """Swagger UI on the app's OpenAPI document, from the package's own copy of its assets."""
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url or "/openapi.json",
        title="赫兰 Helan API",
        swagger_js_url="/docs/swagger/swagger-ui-bundle.js",
        swagger_css_url="/docs/swagger/swagger-ui.css",
        swagger_favicon_url="/console/logo.svg",
    )


@router.get("/docs/swagger/{name}")
def swagger_asset(name: str) -> Response:
    media_type = SWAGGER_ASSETS.get(name)
    if media_type is None:
        raise NotFound(f"no Swagger UI asset {name!r}")
    return Response(
        _static(name, "swagger"),
        media_type=media_type,
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "public, max-age=86400"},
    )
