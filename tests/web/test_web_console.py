"""The console page: language negotiation, a complete message catalogue, assets shipped in the
package (no CDN), and safe headers; served by the real app as ``helan run`` mounts it."""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from playwright.sync_api import expect, sync_playwright
from tests.conftest import free_port

from helan.admin.bootstrap import bootstrap_admin
from helan.api.app import create_app
from helan.config import Settings
from helan.platform import Platform
from helan.web.i18n import LANGUAGES, catalogue, negotiate
from helan.web.routes import ASSETS
from helan.web.routes import router as web_router

STATIC = resources.files("helan.web").joinpath("static")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


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
    assert "<title>赫兰工业互联网平台</title>" in zh.text
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


def test_the_product_name_has_one_spelling() -> None:
    """赫兰, as the README writes it; 贺兰 is only the county of the demo's region code."""
    root = Path(__file__).resolve().parents[2]
    assert "赫兰" in (root / "README.md").read_text("utf-8")
    files = [root / "README.md", *(root / "docs").rglob("*.md"), *(root / "src").rglob("*.*")]
    wrong = [
        f"{path.relative_to(root)}: {line.strip()}"
        for path in files
        if path.suffix in {".md", ".py", ".json", ".html", ".js"}
        for line in path.read_text("utf-8").splitlines()
        if "贺兰" in line.replace("贺兰县", "")
    ]
    assert wrong == []


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The console app on a real port (uvicorn in a thread), and the admin's password."""
    platform = Platform.build(Settings(data_dir=tmp_path / "var"))
    password = bootstrap_admin(platform.meta)
    assert password is not None
    app = create_app(platform)
    app.include_router(web_router)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started
        yield f"http://127.0.0.1:{port}", password
    finally:
        server.should_exit = True
        thread.join(10)
        platform.telemetry.close()
        platform.meta.close()


def _provision(base: str, password: str) -> None:
    with httpx.Client(base_url=base, timeout=10) as client:
        r = client.post("/api/v1/auth/token", data={"username": "admin", "password": password})
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        for tenant, devices in (("acme", ("press-1", "press-2")), ("bolt", ("oven-1",))):
            r = client.post("/api/v1/tenants", headers=auth, json={"id": tenant, "name": tenant})
            assert r.status_code == 201, r.text
            for device in devices:
                r = client.post(
                    f"/api/v1/tenants/{tenant}/devices",
                    headers=auth,
                    json={"id": device, "name": f"{device} name"},
                )
                assert r.status_code == 201, r.text


def test_console_shows_silent_devices_and_clears_for_an_unknown_tenant(
    served: tuple[str, str],
) -> None:
    """D6: devices registered but never heard from are listed, offline. D7: switching to a
    tenant that does not exist leaves nothing of the previous one on screen."""
    base, password = served
    _provision(base, password)
    assert Path(CHROMIUM).exists(), "Chromium is installed by `make test` (apt package chromium)"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(locale="en-US")
            page.goto(f"{base}/?lang=en")
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", password)
            page.click("#login-form button[type=submit]")
            page.wait_for_selector("#tenant-form")
            page.fill("#tenant", "acme")
            page.press("#tenant", "Enter")
            page.wait_for_selector("#devices tr[data-device=press-2]")
            rows = page.locator("#devices tr")
            assert rows.count() == 2
            assert page.locator("#devices tr .badge.off").count() == 2
            assert "never" in page.inner_text("#devices tr[data-device=press-1]")
            assert page.inner_text("#summary") == "0 of 2 online"
            page.fill("#tenant", "nope")
            page.press("#tenant", "Enter")
            expect(page.locator("#dash-error")).to_contain_text("tenant 'nope' not found")
            assert page.locator("#devices tr").count() == 0
            assert page.is_visible("#no-devices")
            page.wait_for_timeout(2500)  # a refresh later, the old tenant has not come back
            assert page.locator("#devices tr").count() == 0
            page.fill("#tenant", "bolt")
            page.press("#tenant", "Enter")
            page.wait_for_selector("#devices tr[data-device=oven-1]")
            assert page.inner_text("#dash-error") == ""
            assert page.locator("#devices tr").count() == 1
        finally:
            browser.close()
