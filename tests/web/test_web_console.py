"""The console page: language negotiation, a complete message catalogue, assets shipped in the
package (no CDN), and safe headers; served by the real app as ``helan run`` mounts it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from helan.api.app import create_app
from helan.config import Settings
from helan.platform import Platform
from helan.web.i18n import LANGUAGES, catalogue, negotiate
from helan.web.routes import ASSETS
from helan.web.routes import router as web_router

STATIC = resources.files("helan.web").joinpath("static")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    platform = Platform.build(Settings(data_dir=tmp_path / "var"))
    app = create_app(platform)
    app.include_router(web_router)
    try:
        yield TestClient(app)
    finally:
        platform.telemetry.close()
        platform.meta.close()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "zh-CN"),
        ("", "zh-CN"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("zh-TW", "zh-CN"),
        ("en-US,en;q=0.9", "en"),
        ("en-GB;q=0.5, zh;q=0.9", "zh-CN"),
        ("fr-FR, en;q=0.3", "en"),
        ("de, fr", "zh-CN"),
        ("en;q=0, zh;q=0.1", "zh-CN"),
        ("en;q=abc, zh;q=0.2", "zh-CN"),  # a broken q-value is ignored, not an error
        ("en, zh", "en"),  # equal preference: the first listed wins
    ],
)
def test_language_negotiation(header: str | None, expected: str) -> None:
    assert negotiate(header) == expected


def test_catalogue_covers_every_string_the_page_uses() -> None:
    messages = catalogue()
    assert set(messages) == set(LANGUAGES)
    assert set(messages["zh-CN"]) == set(messages["en"])
    html = STATIC.joinpath("index.html").read_text("utf-8")
    js = STATIC.joinpath("console.js").read_text("utf-8")
    used = set(re.findall(r'data-i18n(?:-placeholder)?="([a-z_]+)"', html))
    used |= set(re.findall(r'\bt\("([a-z_]+)"', js))
    used |= set(re.findall(r't\(d\.online \? "([a-z_]+)" : "([a-z_]+)"\)', js)[0])
    assert used, "no message keys found: the scan is broken"
    assert used <= set(messages["en"]), used - set(messages["en"])
    assert all(re.search(r"[\u4e00-\u9fff]", messages["zh-CN"][k]) for k in ("login", "devices"))
    levels = {f"level_{level}" for level in ("info", "warning", "fault")}  # t(`level_${...}`)
    assert levels <= set(messages["en"])


def test_page_is_served_in_the_browsers_language(client: TestClient) -> None:
    zh = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert zh.status_code == 200
    assert '<html lang="zh-CN"' in zh.text
    assert "<title>贺兰工业互联网平台</title>" in zh.text
    en = client.get("/", headers={"Accept-Language": "en-US"})
    assert '<html lang="en"' in en.text
    assert "<title>Helan industrial internet platform" in en.text
    assert en.headers["content-language"] == "en"
    assert "Accept-Language" in en.headers["vary"]
    forced = client.get("/?lang=en", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="en"' in forced.text
    bogus = client.get("/?lang=<script>", headers={"Accept-Language": "en"})
    assert '<html lang="en"' in bogus.text
    assert '<script>"' not in bogus.text
    assert 'href="/docs"' in zh.text  # the OpenAPI docs are one click away


def test_headers_forbid_foreign_code(client: TestClient) -> None:
    r = client.get("/")
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("name", sorted(ASSETS))
def test_assets_ship_with_the_package(client: TestClient, name: str) -> None:
    r = client.get(f"/console/{name}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(ASSETS[name].split(";")[0])
    text = r.content.decode("utf-8")
    # No CDN: nothing is fetched from elsewhere (an SVG namespace is not a fetch).
    foreign = [u for u in re.findall(r"https?://[^\s\"')]+", text) if "www.w3.org" not in u]
    assert foreign == []


def test_unknown_asset_is_a_clear_404(client: TestClient) -> None:
    for path in ("/console/secrets.txt", "/console/index.html", "/console/..%2Fi18n.py"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert "i18n" not in r.text or "no console asset" in r.text
    r = client.get("/console/secrets.txt")
    assert r.json()["error"] == {"code": "not_found", "message": "no console asset 'secrets.txt'"}


def test_page_reads_the_live_and_telemetry_endpoints_the_api_serves(client: TestClient) -> None:
    """The page's data calls exist in the app with the shapes it reads."""
    paths = set(client.app.openapi()["paths"])  # type: ignore[attr-defined]
    for path in (
        "/api/v1/auth/token",
        "/api/v1/auth/me",
        "/api/v1/auth/refresh",
        "/api/v1/tenants/{tenant}/live",
        "/api/v1/tenants/{tenant}/device-types",
        "/api/v1/tenants/{tenant}/devices",
        "/api/v1/tenants/{tenant}/devices/{device}/telemetry/{metric}",
        "/api/v1/tenants/{tenant}/events",
    ):
        assert path in paths
    js = STATIC.joinpath("console.js").read_text("utf-8")
    for fragment in (
        "/auth/token",
        "/auth/me",
        "/live",
        "/device-types",
        "/telemetry/",
        "/events?",
        "sessionStorage",
    ):
        assert fragment in js


def test_swagger_ui_is_served_from_the_package(client: TestClient) -> None:
    """/docs was blank offline: Swagger UI came from a CDN. Now every asset is ours."""
    r = client.get("/docs")
    assert r.status_code == 200
    assert '"/openapi.json"' in r.text or "'/openapi.json'" in r.text
    fetched = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert fetched
    assert all(u.startswith("/") for u in fetched), fetched  # no http(s):// anywhere
    for url in fetched:
        asset = client.get(url)
        assert asset.status_code == 200, url
    js = client.get("/docs/swagger/swagger-ui-bundle.js")
    assert js.headers["content-type"].startswith("text/javascript")
    assert b"SwaggerUIBundle" in js.content
    assert client.get("/docs/swagger/swagger-ui.css").headers["content-type"].startswith("text/css")
    assert client.get("/docs/swagger/LICENSE").status_code == 404  # only the listed assets
    assert client.get("/redoc").status_code == 404
    swagger = STATIC.joinpath("swagger")
    assert "Apache License" in swagger.joinpath("LICENSE").read_text("utf-8")
    assert "npm pack swagger-ui-dist@5" in swagger.joinpath("SOURCE").read_text("utf-8")
