"""Every route of the console (read from app/routes.js, so a new route without a case here fails)
opened in zh-CN and in English by a tenant admin: its main heading shows, no JavaScript error, no
request answered 4xx/5xx or failing, no error box, and in zh-CN no missing-glyph box. A viewer's
run of the same shows no write control ([data-write]) and is refused the pages above its role.
Routes with parameters open a real object of the seeded world. Routes whose page module does not
exist yet are listed in MISSING: a page landing, or one disappearing, fails the meta-test."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect
from tests.web.browser import chromium, open_tab
from tests.web.glyphs import chinese_glyphs
from tests.web.pages import (
    LANGS,
    PARAMS,
    ROUTE,
    Params,
    Route,
    Watched,
    routes,
    seed_objects,
    watch,
)
from tests.web.world import PASSWORD, Served, seed, serve

# Page modules routes.js names that are not written yet, and why (remove a line when it lands).
MISSING: dict[str, str] = {}
# What a viewer is refused by design, as the API answers it: another user's dashboard opens only
# by its share link (docs/dashboards.md, "Who sees what").
VIEWER_REFUSED = {"dashboards/:id": 404}
ROUTES = routes()
READY = [r for r in ROUTES if r.written()]
IDS = [r.pattern or "/" for r in READY]


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
    missing = sorted({r.page for r in ROUTES if not r.written()})
    assert missing == sorted(MISSING)


def test_route_parser_refuses_what_it_cannot_read() -> None:
    assert ROUTE.findall('{ pattern: "a/:id", page: "a_b", need: "write" }') == [
        ("a/:id", "a_b", "write")
    ]
    assert ROUTE.findall('{ pattern: "x", page: "Bad-Name" }') == []
    with pytest.raises(AssertionError, match="no value for :nope"):
        Route("things/:nope", "things", "").hash({})
    assert Route("devices/:id", "device", "").name == "devices-id"
    assert Route("", "overview", "").name == "home"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Params]]:
    with serve(tmp_path_factory.mktemp("every") / "var") as served:
        seed(served)
        yield served, seed_objects(served)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def tabs(
    browser: Browser, world: tuple[Served, Params]
) -> Iterator[dict[tuple[str, str], Watched]]:
    """One tab per (user, language), signed in once through the form."""
    opened: dict[tuple[str, str], Watched] = {}
    try:
        for user in ("acme-admin", "acme-viewer"):
            for lang in LANGS:
                tab = open_tab(browser, world[0].base, locale=lang)
                opened[user, lang] = watch(tab, world[1])
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
@pytest.mark.parametrize("route", READY, ids=IDS)
def test_admin_opens_the_page(
    tabs: dict[tuple[str, str], Watched], route: Route, lang: str
) -> None:
    w = tabs["acme-admin", lang]
    w.open(route, lang)
    if route.need == "region":  # the regional view is not a tenant's: the shell refuses it
        shown = w.tab.page.locator(f"main [data-page={route.page}]")
        expect(shown.locator(".error[role=alert]")).to_be_visible()
        assert shown.locator("h2").count() == 0
        return
    heading(w, route)
    clean(w, route, lang)


REGION_PAGES = [r for r in READY if r.need == "region"]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("route", REGION_PAGES, ids=[r.pattern for r in REGION_PAGES])
def test_platform_admin_opens_the_regional_pages(
    browser: Browser, world: tuple[Served, Params], route: Route, lang: str
) -> None:
    served, params = world
    w = watch(open_tab(browser, served.base, locale=lang), params)
    try:
        w.tab.sign_in("admin", served.admin_password, lang)
        w.open(route, lang)
        heading(w, route)
        clean(w, route, lang)
    finally:
        w.tab.page.close()


@pytest.mark.parametrize("route", READY, ids=IDS)
def test_viewer_sees_no_write_control(tabs: dict[tuple[str, str], Watched], route: Route) -> None:
    w = tabs["acme-viewer", "en"]
    w.open(route, "en")
    page = w.tab.page
    if route.need in ("write", "admin", "region") or route.pattern in VIEWER_REFUSED:
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
