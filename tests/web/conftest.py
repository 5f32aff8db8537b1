"""The browser and a fresh tab on the module's ``world`` (each browser test module serves and seeds
its own world)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser
from tests.web.browser import Tab, chromium, open_tab
from tests.web.world import Served


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture
def tab(browser: Browser, world: Served) -> Iterator[Tab]:
    t = open_tab(browser, world.base)
    try:
        yield t
    finally:
        t.page.close()
