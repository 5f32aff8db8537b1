"""The console in Chromium: sign-in, the device list and a device's page in both languages with
no JavaScript error, attacker-chosen names shown as text, and an expired session sending the
user to sign in and back to the page they were on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from tests.web.browser import Tab, no_script_ran
from tests.web.world import CHINESE, PASSWORD, RTL_NAME, XSS_NAME, Served, seed, serve


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("console") / "var") as served:
        seed(served)
        yield served


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_sign_in_list_search_and_device_page(tab: Tab, world: Served, lang: str) -> None:
    tab.sign_in("admin", world.admin_password, lang, "devices")
    page = tab.page
    page.wait_for_selector("#device-list tr[data-device=press-3]")
    assert page.locator("#device-list tbody tr").count() == 3
    expect(page.locator("#device-total")).to_contain_text("3")
    expect(page.locator("[data-status=press-1] .badge")).to_have_count(1)
    # An attacker's name is text: the literal characters, no element made of them.
    expect(page.locator("tr[data-device=press-2] td").nth(1)).to_have_text(XSS_NAME)
    expect(page.locator("tr[data-device=press-3] td").nth(1)).to_have_text(RTL_NAME)
    no_script_ran(tab.page)
    page.fill("#device-search", "press-2")
    expect(page.locator("#device-list tbody tr")).to_have_count(1)
    assert "q=press-2" in page.evaluate("location.hash")  # the filter is in the deep link
    page.click("tr[data-device=press-2] a")
    page.wait_for_selector("[data-section=history] [data-role=history-chart][data-ready='1']")
    page.goto(f"{world.base}/?lang={lang}#/devices/press-1")
    chart = page.locator("[data-role=history-chart][data-ready='1']")
    expect(chart).to_have_count(1)
    assert int(chart.get_attribute("data-points") or 0) > 200
    assert chart.get_attribute("data-bucket") == "5m"  # 24 h at ~300 points
    assert page.locator("[data-role=history-chart] canvas").count() >= 1
    expect(page.locator(".page-head h2")).to_have_text(f"{CHINESE} (press-1)")
    expect(
        page.locator("[data-section=live] tr[data-metric=temp] [data-role=value]")
    ).to_contain_text("°C")
    expect(page.locator("[data-section=attributes] [data-attr=note] + dd")).to_have_text(XSS_NAME)
    events = page.locator("[data-section=events] tbody tr")
    expect(events).to_have_count(2)
    assert XSS_NAME in events.first.inner_text()
    assert page.locator("[data-section=attributes]").inner_text().count("88.118.100/press-1") == 1
    no_script_ran(tab.page)
    assert tab.js_errors() == []


def test_year_range_reads_day_buckets_and_zoom_reads_finer(tab: Tab, world: Served) -> None:
    tab.sign_in("admin", world.admin_password, "en", "devices/press-1")
    page = tab.page
    chart = page.locator("[data-role=history-chart]")
    expect(chart).to_have_attribute("data-ready", "1")
    page.select_option("[data-role=range]", "1y")
    expect(chart).to_have_attribute("data-bucket", "1d")
    expect(chart).to_have_attribute("data-ready", "1")
    assert 300 <= int(chart.get_attribute("data-points") or 0) <= 2 * 366
    page.select_option("[data-role=range]", "15m")
    expect(chart).to_have_attribute("data-bucket", "5s")
    assert tab.js_errors() == []


def test_command_asks_first_and_shows_its_result(tab: Tab, world: Served) -> None:
    tab.sign_in("acme-op", PASSWORD, "en", "devices/press-1")
    page = tab.page
    page.click("[data-command=reset]")
    dialog = page.locator("dialog.dialog")
    expect(dialog).to_be_visible()
    page.click("dialog [data-action=cancel]")
    expect(dialog).to_have_count(0)
    page.click("[data-command=reset]")
    page.fill("dialog [data-param=level]", "2")
    page.fill("dialog [data-param=timeout_s]", "1")
    page.click("dialog [data-action=confirm]")
    # No broker in this world: the API's answer (whatever it is) is shown, not swallowed.
    result = page.locator("[data-role=command-result]")
    expect(result.locator("[role=alert], [data-status]")).to_have_count(1, timeout=15_000)
    answer = world.http.post(
        "/api/v1/tenants/acme/devices/press-1/commands",
        headers={"Authorization": f"Bearer {world.tokens['admin']}"},
        json={"service": "reset", "params": {"level": 2}, "timeout_s": 1},
    )
    if answer.status_code >= 400:  # the API's own message, word for word
        expect(result).to_contain_text(answer.json()["error"]["message"])
    assert [e for e in tab.js_errors() if "/commands" not in e] == []


def test_viewer_sees_no_write_controls(tab: Tab, world: Served) -> None:
    tab.sign_in("acme-viewer", PASSWORD, "en", "devices")
    page = tab.page
    page.wait_for_selector("#device-list tr[data-device=press-1]")
    assert page.locator("[data-write]").count() == 0
    assert page.locator("[data-nav=users]").count() == 0
    tab.goto("devices/press-1")
    page.wait_for_selector("[data-section=commands]")
    expect(page.locator("[data-role=history-chart]")).to_have_attribute("data-ready", "1")
    assert page.locator("[data-write]").count() == 0
    assert page.locator("#tenant-switch").count() == 0  # one tenant: no switcher
    assert tab.js_errors() == []


def test_expired_session_signs_in_again_and_returns_to_the_page(tab: Tab, world: Served) -> None:
    tab.sign_in("admin", world.admin_password, "en", "devices")
    page = tab.page
    page.evaluate(
        "sessionStorage.setItem('helan.token', 'expired.token.here');"
        "sessionStorage.setItem('helan.refresh', 'spent-refresh-token')"
    )
    page.goto(f"{world.base}/?lang=en#/devices/press-2")
    page.wait_for_selector("#login-form")
    assert page.evaluate("location.hash") == "#/signin?next=%23%2Fdevices%2Fpress-2"
    assert page.evaluate("sessionStorage.getItem('helan.token')") is None
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", world.admin_password)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("[data-page=device] [data-section=attributes]")
    assert page.evaluate("location.hash") == "#/devices/press-2"


def test_platform_admin_switches_tenant(tab: Tab, world: Served) -> None:
    tab.sign_in("admin", world.admin_password, "en", "devices")
    page = tab.page
    page.wait_for_selector("#device-list tr[data-device=press-1]")
    page.select_option("#tenant-switch", "bolt")
    page.wait_for_selector("#device-list tr[data-device=oven-1]")
    assert page.locator("#device-list tbody tr").count() == 1
    page.select_option("#tenant-switch", "acme")
    page.wait_for_selector("#device-list tr[data-device=press-1]")
    assert tab.js_errors() == []
