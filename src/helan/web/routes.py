"""The web console: the app shell at ``/`` (ES modules under ``/console/``), its page hook, and
the API's Swagger UI at ``/docs``.

Plain HTML + JavaScript modules shipped in the package (no CDN, no build step; ECharts and
Swagger UI are vendored, see their SOURCE files), so everything works on a machine offline. The
shell talks to the REST API like any other client: the token lives in the tab's sessionStorage,
never in a cookie, so the API needs no CSRF defence for it. Only files listed at import time
with a known type are served, so nothing else in the package (Python, licences) leaks.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from importlib.abc import Traversable
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

from helan.core.errors import NotFound
from helan.web.app_pages import router as pages_router
from helan.web.i18n import LANGUAGES, catalogue, negotiate

router = APIRouter()
router.include_router(pages_router)

MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
SWAGGER_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_SKIP = {"swagger"}  # served at /docs/swagger/ with its own list


def _walk(folder: Traversable, prefix: str = "") -> dict[str, Traversable]:
    found: dict[str, Traversable] = {}
    for item in folder.iterdir():
        name = f"{prefix}{item.name}"
        if item.is_dir():
            if name not in _SKIP:
                found |= _walk(item, f"{name}/")
        elif "." + item.name.rpartition(".")[2] in MEDIA_TYPES and name != "index.html":
            found[name] = item
    return found


@cache
def assets() -> dict[str, Traversable]:
    """Every servable console file by its path under ``static/`` (``app/main.js`` ...)."""
    return _walk(resources.files("helan.web").joinpath("static"))


@cache
def _static(name: str, folder: str = "") -> bytes:
    path = resources.files("helan.web").joinpath("static")
    return (path.joinpath(folder) if folder else path).joinpath(name).read_bytes()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index(
    lang: Annotated[str | None, Query(description="zh-CN or en")] = None,
    accept_language: Annotated[str | None, Header()] = None,
) -> HTMLResponse:
    chosen = lang if lang in LANGUAGES else negotiate(accept_language)
    title = catalogue()[chosen]["app_title"]
    html = _static("index.html").decode().replace("__LANG__", chosen).replace("__TITLE__", title)
    headers = {**SECURITY_HEADERS, "Content-Language": chosen, "Vary": "Accept-Language"}
    return HTMLResponse(html, headers=headers)


@router.get("/console/{path:path}", include_in_schema=False)
def asset(path: str) -> Response:
    found = assets().get(path)
    if found is None:
        raise NotFound(f"no console asset {path!r}")
    media_type = MEDIA_TYPES["." + path.rpartition(".")[2]]
    # The vendored library changes only with a release; the shell's own files on every deploy.
    cache_control = "public, max-age=86400" if path.startswith("vendor/") else "no-cache"
    return Response(
        found.read_bytes(),
        media_type=media_type,
        headers={**SECURITY_HEADERS, "Cache-Control": cache_control},
    )


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
def docs(request: Request) -> HTMLResponse:
    """Swagger UI on the app's OpenAPI document, from the package's own copy of its assets."""
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url or "/openapi.json",
        title="赫兰 Helan API",
        swagger_js_url="/docs/swagger/swagger-ui-bundle.js",
        swagger_css_url="/docs/swagger/swagger-ui.css",
        swagger_favicon_url="/console/logo.svg",
    )


@router.get("/docs/swagger/{name}", include_in_schema=False)
def swagger_asset(name: str) -> Response:
    media_type = SWAGGER_ASSETS.get(name)
    if media_type is None:
        raise NotFound(f"no Swagger UI asset {name!r}")
    return Response(
        _static(name, "swagger"),
        media_type=media_type,
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "public, max-age=86400"},
    )
