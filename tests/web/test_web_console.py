"""The console's server side: language negotiation, catalogues with exactly the keys the shell
uses, assets shipped in the package (no CDN; only listed types), safe headers, the vendored
ECharts as its SOURCE.md describes it, the page hook, and Swagger UI at /docs."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from helan.admin.bootstrap import bootstrap_admin
from helan.api.app import create_app
from helan.config import Settings
from helan.platform import Platform
from helan.web.app_pages import register_page, unregister_page
from helan.web.i18n import LANGUAGES, catalogue, negotiate
from helan.web.routes import assets
from helan.web.routes import router as web_router

STATIC = Path(str(resources.files("helan.web").joinpath("static")))
KEY_CALL = re.compile(r'\b[tk]\(\s*"([a-z0-9_]+)"')


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    platform = Platform.build(Settings(data_dir=tmp_path / "var"))
    app = create_app(platform)
    app.include_router(web_router)
    app.state.admin_password = bootstrap_admin(platform.meta)
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


def used_keys() -> dict[str, str]:
    """Every message key the shell's code names (t("..."), k("...")), with a file naming it."""
    used: dict[str, str] = {"app_title": "routes.py"}
    for path in sorted([*STATIC.glob("app/**/*.js"), *STATIC.glob("widgets/*.js")]):
        for key in KEY_CALL.findall(path.read_text("utf-8")):
            used.setdefault(key, path.name)
    return used


def test_catalogues_have_exactly_the_keys_the_code_uses() -> None:
    messages = catalogue()
    assert set(messages) == set(LANGUAGES)
    used = used_keys()
    assert len(used) > 100, "the key scan is broken"
    for lang in LANGUAGES:
        missing = sorted(set(used) - set(messages[lang]))
        extra = sorted(set(messages[lang]) - set(used))
        assert missing == [], f"{lang} lacks {missing}"
        assert extra == [], f"{lang} has keys no code uses: {extra}"
        assert all(isinstance(v, str) and v for v in messages[lang].values())
    zh = messages["zh-CN"]
    assert all(re.search(r"[\u4e00-\u9fff]", zh[k]) for k in ("login", "nav_devices", "app_title"))
    # Placeholders are the same in both languages ({n} in one is {n} in the other).
    for key in used:
        assert set(re.findall(r"\{\w+\}", zh[key])) == set(
            re.findall(r"\{\w+\}", messages["en"][key])
        ), key


def test_no_message_key_is_built_at_run_time() -> None:
    """t(`level_${x}`) would escape the key scan above: keys are literals or go through k()."""
    for path in STATIC.glob("app/**/*.js"):
        text = path.read_text("utf-8")
        assert not re.search(r"\bt\(`", text), path.name
        assert not re.search(r"\bt\(\s*\"[a-z_]+\"\s*\+", text), path.name


def test_no_html_is_parsed_from_strings() -> None:
    """All text goes in as textContent: no innerHTML, outerHTML, insertAdjacentHTML, eval."""
    for path in [
        *STATIC.glob("app/**/*.js"),
        *STATIC.glob("widgets/*.js"),
        *STATIC.glob("lib/*.js"),
    ]:
        text = path.read_text("utf-8")
        for bad in (
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
        ):
            assert bad not in text, f"{path.name} uses {bad}"
    html = (STATIC / "index.html").read_text("utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "an inline script"
    assert not re.search(r"\son[a-z]+=", html), "an inline event handler"
    assert "style=" not in html


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
    assert 'src="/console/vendor/echarts/echarts.min.js"' in zh.text
    assert '<script type="module" src="/console/app/main.js">' in zh.text


def test_headers_forbid_foreign_code(client: TestClient) -> None:
    for url in ("/", "/console/app/main.js"):
        r = client.get(url)
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "script-src 'self';" in csp
        assert "unsafe-inline" not in csp
        assert "unsafe-eval" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"


def test_every_shell_file_is_served_with_its_type_and_fetches_nothing_foreign(
    client: TestClient,
) -> None:
    names = sorted(assets())
    for must in (
        "app/main.js",
        "app/pages/device.js",
        "i18n/zh-CN.json",
        "i18n/en.json",
        "app.css",
        "vendor/echarts/echarts.min.js",
        "widgets/index.js",
        "lib/live.js",
    ):
        assert must in names
    types = {
        ".js": "text/javascript",
        ".css": "text/css",
        ".json": "application/json",
        ".svg": "image/svg+xml",
    }
    for name in names:
        r = client.get(f"/console/{name}")
        assert r.status_code == 200, name
        assert r.headers["content-type"].startswith(types[Path(name).suffix]), name
        if name.startswith("vendor/"):
            continue  # the library's licence headers name apache.org
        text = r.content.decode("utf-8")
        foreign = [u for u in re.findall(r"https?://[^\s\"')`]+", text) if "www.w3.org" not in u]
        assert foreign == [], name


def test_unknown_asset_is_a_clear_404(client: TestClient) -> None:
    for path in (
        "/console/secrets.txt",
        "/console/index.html",
        "/console/..%2Fi18n.py",
        "/console/vendor/echarts/LICENSE",
        "/console/vendor/echarts/SOURCE.md",
        "/console/../routes.py",
        "/console/swagger/swagger-ui.css",
    ):
        r = client.get(path)
        assert r.status_code == 404, path
    r = client.get("/console/secrets.txt")
    assert r.json()["error"] == {"code": "not_found", "message": "no console asset 'secrets.txt'"}


def test_vendored_echarts_is_the_release_its_source_names() -> None:
    folder = STATIC / "vendor" / "echarts"
    source = (folder / "SOURCE.md").read_text("utf-8")
    assert "echarts@6.1.0" in source
    digest = hashlib.sha256((folder / "echarts.min.js").read_bytes()).hexdigest()
    assert f"`{digest}`" in source
    assert "Apache License" in (folder / "LICENSE").read_text("utf-8")
    assert "Apache ECharts" in (folder / "NOTICE").read_text("utf-8")
    assert (folder / "echarts.min.js").read_bytes().find(b'version="6.1.0"') >= 0 or b"6.1.0" in (
        folder / "echarts.min.js"
    ).read_bytes()


def test_page_hook_lists_installed_apps_pages_for_members_only(client: TestClient) -> None:
    password = client.app.state.admin_password  # type: ignore[attr-defined]
    token = client.post("/api/v1/auth/token", json={"username": "admin", "password": password})
    auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
    for tenant in ("acme", "bolt"):
        assert (
            client.post(
                "/api/v1/tenants", headers=auth, json={"id": tenant, "name": tenant}
            ).status_code
            == 201
        )
    url = "/api/v1/tenants/acme/console/pages"
    assert client.get(url).status_code == 401
    assert client.get("/api/v1/tenants/nope/console/pages", headers=auth).status_code == 404
    assert client.get(url, headers=auth).json()["items"] == []  # nothing installed yet
    platform = client.app.state.platform  # type: ignore[attr-defined]
    platform.apps.installs.install("acme", "data_quality")
    platform.apps.installs.reload()
    items = client.get(url, headers=auth).json()["items"]
    assert items == [
        {
            "id": "data-quality",
            "app": "data_quality",
            "title": {"zh-CN": "数据质量", "en": "Data quality"},
            "module": "/apps/data_quality/static/data_quality.js",
        }
    ]
    assert client.get(items[0]["module"]).status_code == 200
    assert client.get("/api/v1/tenants/bolt/console/pages", headers=auth).json()["items"] == []
    register_page(id="energy-x", title_zh="能耗", title_en="Energy", module="/plugins/energy.js")
    try:
        ids = [p["id"] for p in client.get(url, headers=auth).json()["items"]]
        assert ids == ["data-quality", "energy-x"]
    finally:
        unregister_page("energy-x")
    with pytest.raises(Exception, match=r"must be a /path\.js URL"):
        register_page(id="bad", title_zh="坏", title_en="Bad", module="https://cdn.example/x.js")
    assert "/api/v1/tenants/{tenant}/console/pages" in client.app.openapi()["paths"]  # type: ignore[attr-defined]


def test_swagger_ui_is_served_from_the_package(client: TestClient) -> None:
    """/docs was blank offline: Swagger UI came from a CDN. Now every asset is ours."""
    r = client.get("/docs")
    assert r.status_code == 200
    assert '"/openapi.json"' in r.text or "'/openapi.json'" in r.text
    fetched = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert fetched
    assert all(u.startswith("/") for u in fetched), fetched  # no http(s):// anywhere
    for url in fetched:
        assert client.get(url).status_code == 200, url
    js = client.get("/docs/swagger/swagger-ui-bundle.js")
    assert js.headers["content-type"].startswith("text/javascript")
    assert b"SwaggerUIBundle" in js.content
    assert client.get("/docs/swagger/swagger-ui.css").headers["content-type"].startswith("text/css")
    assert client.get("/docs/swagger/LICENSE").status_code == 404  # only the listed assets
    assert client.get("/redoc").status_code == 404
    swagger = STATIC / "swagger"
    assert "Apache License" in (swagger / "LICENSE").read_text("utf-8")
    assert "npm pack swagger-ui-dist@5" in (swagger / "SOURCE").read_text("utf-8")


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
