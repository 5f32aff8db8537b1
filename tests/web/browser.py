"""Chromium for the console tests: one browser per test module, pages that record every
JavaScript error (uncaught exceptions and console errors), and signing in through the form."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, ConsoleMessage, Page, Response, sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@contextmanager
def chromium() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "Chromium is installed by `make test` (apt package chromium)"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Tab:
    page: Page
    base: str
    errors: list[str] = field(default_factory=list)

    def goto(self, route: str, lang: str = "en") -> None:
        self.page.goto(f"{self.base}/?lang={lang}#/{route}")

    def sign_in(self, user: str, password: str, lang: str = "en", route: str = "") -> None:
        self.page.goto(f"{self.base}/?lang={lang}#/signin?next=%23%2F{route}")
        self.page.fill("input[name=username]", user)
        self.page.fill("input[name=password]", password)
        self.page.click("#login-form button[type=submit]")
        self.page.wait_for_selector("#nav a")

    def js_errors(self) -> list[str]:
        return list(self.errors)


def open_tab(browser: Browser, base: str, *, locale: str = "en-US") -> Tab:
    page = browser.new_page(locale=locale, viewport={"width": 1400, "height": 900})
    tab = Tab(page, base)
    page.on("pageerror", lambda exc: tab.errors.append(f"pageerror: {exc}"))

    def console(msg: ConsoleMessage) -> None:
        if msg.type != "error":
            return
        url = str(msg.location.get("url", ""))
        if "Failed to load resource" in msg.text and "404" in msg.text:
            return  # the browser logs every 404; `response` below records each one once
        tab.errors.append(f"console.error: {msg.text} ({url})")

    page.on("console", console)

    def response(r: Response) -> None:
        status, url = r.status, r.url
        if status == 404:
            tab.errors.append(f"404: {url}")
        elif status >= 500:
            tab.errors.append(f"{status}: {url}")

    page.on("response", response)
    return tab


def no_script_ran(page: Page) -> None:
    """The attacker-named objects of the test world stayed text: nothing of theirs ran."""
    assert page.evaluate("window.__pwned === undefined")
    assert page.locator('img[src="x"]').count() == 0
    assert page.locator("main script").count() == 0
