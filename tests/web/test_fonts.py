"""Chinese renders in the console wherever it runs: the CSS font stack names a Chinese font of
each common system, and in Chromium the zh-CN pages draw every Chinese character with a font of
that stack (no missing-glyph boxes), charts included. The same check run in a Chromium that sees
no Chinese font (fontconfig limited to DejaVu) finds boxes, so it fails where boxes would show."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright
from tests.web.browser import CHROMIUM
from tests.web.glyphs import chinese_glyphs, platform_fonts, stack_families
from tests.web.world import CHINESE, Served, seed, serve

CSS = Path(str(resources.files("helan.web").joinpath("static/app.css"))).read_text("utf-8")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LATIN_ONLY = "/usr/share/fonts/truetype/dejavu"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("fonts") / "var") as served:
        seed(served, year=False)
        yield served


@pytest.fixture(scope="module")
def pw() -> Iterator[Playwright]:
    assert Path(CHROMIUM).exists(), "Chromium is installed by `make test` (apt package chromium)"
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(pw: Playwright) -> Iterator[Browser]:
    b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(scope="module")
def latin_only(pw: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """A Chromium on a machine, as far as it can tell, with DejaVu and no Chinese font."""
    assert Path(LATIN_ONLY).is_dir(), "fonts-dejavu-core (a dependency of Chromium)"
    conf = tmp_path_factory.mktemp("fontconfig")
    (conf / "fonts.conf").write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        f"<dir>{LATIN_ONLY}</dir><cachedir>{conf}/cache</cachedir></fontconfig>",
        "utf-8",
    )
    env: dict[str, str | float | bool] = {**os.environ, "FONTCONFIG_FILE": str(conf / "fonts.conf")}
    b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, env=env)
    try:
        yield b
    finally:
        b.close()


def sign_in(page: Page, world: Served, route: str) -> None:
    page.goto(f"{world.base}/?lang=zh-CN#/signin?next=%23%2F{route}")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", world.admin_password)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#nav a")


def test_stack_names_a_chinese_font_of_each_common_system() -> None:
    stack = stack_families(CSS)
    assert stack[-1] == "sans-serif"
    for family in ("PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Micro Hei"):
        assert family in stack, family  # macOS, Windows, most Linux, Debian's fonts-wqy-microhei
    # Every other family falls back to the stack (code's monospace too), none bypasses it.
    families = re.findall(r"font-family:\s*([^;}]+)", CSS)
    assert families
    assert set(families) <= {"var(--font)", "var(--mono)"}, families
    mono = re.search(r"--mono:\s*([^;]+);", CSS)
    assert mono
    assert mono.group(1).endswith("var(--font)")


def test_stack_family_parsing_refuses_a_stylesheet_without_one() -> None:
    with pytest.raises(AssertionError, match="no --font"):
        stack_families("body { font-family: serif; }")
    assert stack_families('--font: "A B", C, sans-serif;') == ["A B", "C", "sans-serif"]


def test_zh_cn_pages_draw_every_chinese_character_with_a_font_of_the_stack(
    browser: Browser, world: Served
) -> None:
    stack = set(stack_families(CSS))
    page = browser.new_page(locale="zh-CN", viewport={"width": 1400, "height": 900})
    try:
        page.goto(f"{world.base}/?lang=zh-CN#/signin")
        expect(page.locator("#login-form h2")).to_contain_text("登录")
        checked, boxes = chinese_glyphs(page)
        assert checked >= 4
        assert boxes == []
        sign_in(page, world, "devices/press-1")
        chart = page.locator("[data-role=history-chart]")
        expect(chart).to_have_attribute("data-ready", "1")
        heading = page.locator(".page-head h2")
        expect(heading).to_have_text(f"{CHINESE} (press-1)")
        checked, boxes = chinese_glyphs(page)
        assert checked >= 40, checked  # the menu, the device's name, its sections and chart
        assert boxes == []
        used = platform_fonts(page, ".page-head h2")
        assert used
        assert used <= stack, used  # drawn by a named font, not by a chance fallback
        # The chart's canvas text has the page's stack, so it falls back the same way.
        font = page.evaluate(
            "(() => { const n = document.querySelector('[data-role=history-chart]');"
            " return [echarts.getInstanceByDom(n).getOption().textStyle.fontFamily,"
            " getComputedStyle(document.body).fontFamily]; })()"
        )
        assert stack_families(f"--font: {font[0]};") == stack_families(f"--font: {font[1]};")
        assert stack_families(f"--font: {font[1]};") == stack_families(CSS)
        sign_in(page, world, "overview")
        page.wait_for_selector("[data-page=overview] h2")
        checked, boxes = chinese_glyphs(page)
        assert checked >= 20
        assert boxes == []
    finally:
        page.close()


def test_without_a_chinese_font_the_same_check_sees_boxes(
    latin_only: Browser, world: Served
) -> None:
    page = latin_only.new_page(locale="zh-CN")
    try:
        page.goto(f"{world.base}/?lang=zh-CN#/signin")
        expect(page.locator("#login-form h2")).to_contain_text("登录")
        checked, boxes = chinese_glyphs(page)
        assert checked >= 4
        assert len(boxes) == checked  # every Chinese character is a box here
        assert platform_fonts(page, "#login-form h2") == {"DejaVu Sans"}
        assert "DejaVu Sans" not in stack_families(CSS)
    finally:
        page.close()
