"""Every route of the console (read from app/routes.js, so a new route without a case here fails)
opened in zh-CN and in English by a tenant admin: its main heading shows, no JavaScript error, no
request answered 4xx/5xx or failing, no error box, and in zh-CN no missing-glyph box. A viewer's
run of the same shows no write control ([data-write]) and is refused the pages above its role.
Routes with parameters open a real object of the seeded world. Routes whose page module does not
exist yet are listed in MISSING: a page landing, or one disappearing, fails the meta-test."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Request, Response, expect
from tests.web.browser import Tab, chromium, open_tab
from tests.web.glyphs import chinese_glyphs
from tests.web.world import PASSWORD, Served, seed, serve

from helan.rules.contracts import ConditionChange, Severity

STATIC = Path(str(resources.files("helan.web").joinpath("static/app")))
ROUTE = re.compile(r'\{\s*pattern:\s*"([^"]*)",\s*page:\s*"([a-z_]+)"(?:[^}]*need:\s*"(\w+)")?')
T = "/api/v1/tenants/acme"
LANGS = ("zh-CN", "en")
# Page modules routes.js names that are not written yet, and why (remove a line when it lands).
MISSING = {
    "app_page": "the shell's loader for apps' pages (routes apps/:page)",
}
# What a route's parameters are in the seeded world (filled in by the world fixture where the
# object is made there: an alarm's id, a share token).
PARAMS: dict[str, dict[str, str]] = {
    "devices/:id": {"id": "press-1"},
    "alarms/:id": {},
    "dashboards/shared/:token": {},
    "dashboards/:id": {"id": "line"},
    "dashboards/:id/edit": {"id": "line"},
    "device-types/:id": {"id": "press"},
    "rules/:id": {"id": "hot"},
    "apps/:page": {"page": "data-quality"},
}
# What a viewer is refused by design, as the API answers it: another user's dashboard opens only
# by its share link (docs/dashboards.md, "Who sees what").
VIEWER_REFUSED = {"dashboards/:id": 404}
HOT = {
    "id": "hot",
    "name": "温度过高 hot",
    "target": {"device_type": "press"},
    "condition": {"kind": "threshold", "metric": "temp", "op": ">", "value": 85},
    "severity": "high",
    "message": "temp {temp} °C",
}


@dataclass(frozen=True)
class Route:
    pattern: str
    page: str
    need: str | None

    def hash(self) -> str:
        values = PARAMS.get(self.pattern, {})
        parts = []
        for part in self.pattern.split("/"):
            if part.startswith(":"):
                assert values.get(part[1:]), f"no value for {part} of route {self.pattern!r}"
                parts.append(values[part[1:]])
            else:
                parts.append(part)
        return "/".join(parts)


def routes() -> list[Route]:
    """The console's routes as routes.js declares them."""
    text = (STATIC / "routes.js").read_text("utf-8")
    block = text[text.index("export const ROUTES") : text.index("];")]
    found = [Route(p, page, need) for p, page, need in ROUTE.findall(block)]
    assert len(found) == block.count("pattern:"), "a route routes.js declares was not parsed"
    return found


def written(route: Route) -> bool:
    return (STATIC / "pages" / f"{route.page}.js").is_file()


ROUTES = routes()
READY = [r for r in ROUTES if written(r)]


def test_route_table_is_read_and_every_route_has_its_parameters() -> None:
    assert len(ROUTES) >= 20
    assert {"devices", "devices/:id", "dashboards/:id", "wall"} <= {r.pattern for r in ROUTES}
    for r in ROUTES:
        names = {p[1:] for p in r.pattern.split("/") if p.startswith(":")}
        if names:
            assert r.pattern in PARAMS, f"route {r.pattern!r} has no case in PARAMS"
            assert set(PARAMS[r.pattern]) <= names, r.pattern


def test_missing_pages_are_the_known_list() -> None:
    """Fails when a listed page lands (take it off MISSING) or a routed page disappears."""
    missing = sorted({r.page for r in ROUTES if not written(r)})
    assert missing == sorted(MISSING)


def test_route_parser_refuses_what_it_cannot_read() -> None:
    assert ROUTE.findall('{ pattern: "a/:id", page: "a_b", need: "write" }') == [
        ("a/:id", "a_b", "write")
    ]
    assert ROUTE.findall('{ pattern: "x", page: "Bad-Name" }') == []
    with pytest.raises(AssertionError, match="no value for :nope"):
        Route("things/:nope", "things", None).hash()


@dataclass
class Watched:
    """A signed-in tab and what went wrong on it since the last page was opened."""

    tab: Tab
    failed: list[str] = field(default_factory=list)
    pending: set[Request] = field(default_factory=set)

    def open(self, route: Route, lang: str) -> None:
        page = self.tab.page
        page.goto("about:blank")
        self.tab.errors.clear()
        self.failed.clear()
        self.pending.clear()
        page.goto(f"{self.tab.base}/?lang={lang}#/{route.hash()}")

    def settle(self, quiet_s: float = 0.25, limit_s: float = 15) -> None:
        """Wait until no request (other than the live stream) has been in flight for quiet_s."""
        deadline = time.monotonic() + limit_s
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            self.tab.page.wait_for_timeout(50)
            if self.pending:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= quiet_s:
                return
        raise AssertionError(f"requests still in flight: {[r.url for r in self.pending]}")


def watch(tab: Tab) -> Watched:
    w = Watched(tab)
    page = tab.page

    def started(r: Request) -> None:
        if not r.url.split("?")[0].endswith("/stream"):
            w.pending.add(r)

    def done(r: Request) -> None:
        w.pending.discard(r)

    def failed(r: Request) -> None:
        w.pending.discard(r)
        if r.failure != "net::ERR_ABORTED":  # the page's own abort, e.g. a superseded query
            w.failed.append(f"{r.method} {r.url}: {r.failure}")

    def answered(r: Response) -> None:
        if r.status >= 400:
            w.failed.append(f"{r.request.method} {r.url}: {r.status}")

    page.on("request", started)
    page.on("requestfinished", done)
    page.on("requestfailed", failed)
    page.on("response", answered)
    return w


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("every") / "var") as served:
        seed(served)
        served.call("POST", f"{T}/rules", json=HOT)
        served.platform.alarms.apply(
            [
                ConditionChange(
                    tenant="acme",
                    rule_id="hot",
                    rule_version=1,
                    device="press-1",
                    active=True,
                    ts_ms=int(time.time() * 1000),
                    severity=Severity.HIGH,
                    message="temp 91.5 °C",
                    values={"temp": 91.5},
                )
            ]
        )
        alarm = served.call("GET", f"{T}/alarms?open=true")["items"][0]["id"]
        PARAMS["alarms/:id"]["id"] = str(alarm)
        token = served.call("POST", f"{T}/dashboards/line/share")["token"]
        PARAMS["dashboards/shared/:token"]["token"] = token
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def tabs(browser: Browser, world: Served) -> Iterator[dict[tuple[str, str], Watched]]:
    """One tab per (user, language), signed in once through the form."""
    opened: dict[tuple[str, str], Watched] = {}
    try:
        for user in ("acme-admin", "acme-viewer"):
            for lang in LANGS:
                tab = open_tab(browser, world.base, locale=lang)
                opened[user, lang] = watch(tab)
                tab.sign_in(user, PASSWORD, lang)
        yield opened
    finally:
        for w in opened.values():
            w.tab.page.close()


def heading(w: Watched, route: Route) -> str:
    page = w.tab.page
    title = page.locator(f"main [data-page={route.page}] h2").first
    expect(title).to_be_visible(timeout=10_000)
    w.settle()
    text = title.inner_text().strip()
    assert text, f"{route.pattern}: empty heading"
    return text


def clean(w: Watched, route: Route, lang: str) -> None:
    page = w.tab.page
    boxes = page.locator("main .error[role=alert]:visible")
    assert boxes.count() == 0 or not boxes.first.inner_text().strip(), boxes.first.inner_text()
    assert w.tab.js_errors() == [], route.pattern
    assert w.failed == [], route.pattern
    assert page.evaluate("window.__pwned === undefined")
    if lang == "zh-CN":
        checked, missing = chinese_glyphs(page)
        assert checked > 0, f"{route.pattern}: no Chinese on the zh-CN page"
        assert missing == [], f"{route.pattern}: boxes for {missing}"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("route", READY, ids=[r.pattern or "/" for r in READY])
def test_admin_opens_the_page(
    tabs: dict[tuple[str, str], Watched], route: Route, lang: str
) -> None:
    w = tabs["acme-admin", lang]
    w.open(route, lang)
    heading(w, route)
    clean(w, route, lang)


@pytest.mark.parametrize("route", READY, ids=[r.pattern or "/" for r in READY])
def test_viewer_sees_no_write_control(tabs: dict[tuple[str, str], Watched], route: Route) -> None:
    w = tabs["acme-viewer", "en"]
    w.open(route, "en")
    page = w.tab.page
    if route.need in ("write", "admin") or route.pattern in VIEWER_REFUSED:
        # Refused: the shell's notice (role) or the API's answer (object) in place of the page.
        expect(page.locator(f"main [data-page={route.page}] .error[role=alert]")).to_be_visible()
        w.settle()
        assert page.locator(f"main [data-page={route.page}] h2").count() == 0
        assert page.locator("[data-write]").count() == 0
        status = VIEWER_REFUSED.get(route.pattern)
        want = [] if status is None else [f": {status}"]
        assert [f[f.rindex(":") :] for f in w.failed] == want, w.failed
        # The browser logs the refused request (and browser.py a 404); nothing else is logged.
        logged = [e for e in w.tab.js_errors() if not status or not re.search(f"\\b{status}\\b", e)]
        assert logged == []
        return
    heading(w, route)
    assert page.locator("[data-write]").count() == 0, route.pattern
    clean(w, route, "en")
