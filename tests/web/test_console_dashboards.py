"""The console's dashboards, wall display and reports in Chromium: the seeded dashboard's
widgets draw with data and follow a live value without a reload, the editor builds and saves
one (drag included) and shows 409 and 422 with their message and position, an import of a bad
document is refused visibly, a share link opens read-only for a viewer, the wall runs in
zh-CN and reconnects, reports run and download, attacker-named titles stay text."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.web.browser import Tab, no_script_ran, open_tab
from tests.web.world import PASSWORD, XSS_NAME, Served, seed, serve

T = "/api/v1/tenants/acme"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("dashboards") / "var") as served:
        seed(served, year=False)
        for user in ("acme-admin", "acme-op", "acme-viewer"):
            served.login(user)
        yield served


# The ECharts option a widget's chart holds, by widget id (evaluated in the page).
OPTION = (
    "(id) => echarts.getInstanceByDom("
    "document.querySelector(`[data-widget=${id}] .w-body`)).getOption()"
)


def eventually(page: Page, expression: str, within_s: float = 5.0) -> Any:
    """The expression's first truthy value in the page (wait_for_function would need eval,
    which the console's CSP forbids)."""
    deadline = time.monotonic() + within_s
    while not (value := page.evaluate(expression)) and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    return value


def errors_but(tab: Tab, *statuses: int) -> list[str]:
    """The tab's JavaScript errors less the browser's own line for each answer a test asked
    for (a refused save or import logs "the server responded with a status of 422")."""
    return [e for e in tab.js_errors() if not any(f"status of {s} (" in e for s in statuses)]


def ready_grid(page: Page) -> None:
    expect(page.locator("[data-role=grid]")).to_have_attribute("data-ready", "1")


def test_seeded_dashboard_draws_its_widgets_with_data(tab: Tab) -> None:
    tab.sign_in("acme-admin", PASSWORD, "zh-CN", "dashboards")
    page = tab.page
    row = page.locator("tr[data-dashboard=line]")
    expect(row.locator("[data-role=title]")).to_have_text("冲压线看板")
    expect(row).to_contain_text("8")  # widgets
    row.locator("[data-role=title]").click()
    ready_grid(page)
    expect(page.locator(".page-head h2")).to_have_text("冲压线看板")
    for chart in ("ts", "g", "b"):  # ECharts drew on a canvas
        expect(page.locator(f"[data-widget={chart}] canvas")).not_to_have_count(0)
    value = page.locator("[data-widget=v] [data-role=value]")
    expect(value).to_have_text(re.compile(r"^\d+(\.\d+)? °C$"))
    expect(page.locator("[data-widget=v] .w-title")).to_have_text(XSS_NAME)
    expect(page.locator("[data-widget=txt] .w-text")).to_have_text(XSS_NAME)
    expect(page.locator("[data-widget=tb] tbody tr")).to_have_count(1)
    expect(page.locator("[data-widget=tb] tbody td").nth(1)).not_to_have_text("–")
    expect(page.locator("[data-widget=st] .w-band")).not_to_have_count(0)
    expect(page.locator("[data-widget=al] .w-empty")).to_be_visible()
    assert page.locator("[data-widget] .w-error").count() == 0
    # The gauge and the bar chart hold the latest values (from the stream's snapshot).
    assert eventually(page, f"({OPTION})('g').series[0].data[0].value") >= 200
    bars = page.evaluate(f"({OPTION})('b').series[0].data.map((d) => d.value)")
    assert len(bars) == 2
    assert all(60 <= v < 90 for v in bars)
    assert "null" not in page.locator("[data-page=dashboard]").inner_text()
    no_script_ran(page)
    assert tab.js_errors() == []


def test_a_live_value_updates_without_reload(tab: Tab, world: Served) -> None:
    tab.sign_in("acme-admin", PASSWORD, "en", "dashboards/line")
    page = tab.page
    ready_grid(page)
    expect(page.locator("#live-mark")).to_have_attribute("data-state", "open")
    page.evaluate("window.__same_page = 1")
    now = int(time.time() * 1000)
    world.call(
        "POST",
        f"{T}/ingest",
        json=[{"device": "press-1", "metric": "temp", "ts": now, "value": 123.4}],
    )
    expect(page.locator("[data-widget=v] [data-role=value]")).to_have_text("123.4 °C")
    expect(page.locator("[data-widget=tb] tbody td").nth(1)).to_have_text("123.4")
    assert page.evaluate("window.__same_page") == 1
    assert tab.js_errors() == []


def test_editor_builds_moves_and_saves_a_dashboard(tab: Tab, world: Served) -> None:
    tab.sign_in("acme-op", PASSWORD, "en", "dashboards")
    page = tab.page
    page.click("[data-action=new-dashboard]")
    page.fill("#new-dashboard input[name=title]", "Shift board")
    page.fill("#new-dashboard input[name=id]", "shift")
    page.click("#new-dashboard button[type=submit]")
    page.wait_for_selector("[data-role=no-selection]")
    assert page.evaluate("location.hash") == "#/dashboards/shift/edit"
    page.select_option("[data-role=new-type]", "value")
    page.click("[data-action=add-widget]")
    form = page.locator("[data-widget-form=value-1]")
    form.locator("input[name=device]").fill("press-1")
    form.locator("input[name=metric]").fill("temp")
    form.locator("input[name=unit]").fill("°C")
    form.locator("input[name=unit]").blur()
    page.select_option("[data-role=new-type]", "timeseries")
    page.click("[data-action=add-widget]")
    expect(page.locator("[data-widget=timeseries-1]")).to_have_count(1)
    # Drag the time series two columns to the right (it starts right of the value card).
    box = page.locator("[data-widget=timeseries-1]")
    start = box.bounding_box()
    grid = page.locator("[data-role=edit-grid]").bounding_box()
    assert start
    assert grid
    column = (grid["width"] + 10) / 12
    page.mouse.move(start["x"] + 20, start["y"] + 20)
    page.mouse.down()
    page.mouse.move(start["x"] + 20 + column * 2, start["y"] + 20, steps=8)
    page.mouse.up()
    expect(page.locator("[data-widget-form=timeseries-1] input[name=x]")).to_have_value("5")
    page.click("[data-action=save]")
    expect(page.locator("[data-role=save-status]")).to_have_text("Saved (version 2)")
    saved = world.call("GET", f"{T}/dashboards/shift", who="acme-op")
    widgets = {w["id"]: w for w in saved["spec"]["widgets"]}
    assert widgets["value-1"]["config"] | {} == {
        "device": "press-1",
        "metric": "temp",
        "unit": "°C",
        "decimals": 1,
        "thresholds": [],
    }
    assert (widgets["timeseries-1"]["x"], widgets["timeseries-1"]["w"]) == (5, 6)
    # Keyboard: Shift+Down makes the selected widget one row taller.
    page.locator("[data-widget=value-1]").focus()
    page.keyboard.press("Shift+ArrowDown")
    expect(page.locator("[data-widget-form=value-1] input[name=h]")).to_have_value("3")
    page.click("[data-action=view]")
    ready_grid(page)
    expect(page.locator("[data-widget=value-1] [data-role=value]")).to_contain_text("°C")
    assert tab.js_errors() == []


def test_editor_shows_422_at_its_input_and_409_with_the_newer_version(
    tab: Tab, world: Served
) -> None:
    spec = {
        "widgets": [
            {"id": "a", "type": "text", "x": 0, "y": 0, "w": 4, "h": 2, "config": {"text": "a"}},
            {"id": "b", "type": "text", "x": 4, "y": 0, "w": 4, "h": 2, "config": {"text": "b"}},
        ]
    }
    world.call(
        "POST", f"{T}/dashboards", who="acme-op", json={"id": "clash", "title": "c", "spec": spec}
    )
    tab.sign_in("acme-op", PASSWORD, "en", "dashboards/clash/edit")
    page = tab.page
    page.click("[data-widget=b]")
    x = page.locator("[data-widget-form=b] input[name=x]")
    x.fill("2")  # on top of "a": the editor marks it, the server refuses it
    x.blur()
    expect(page.locator("[data-widget=b]")).to_have_class(has_class("clash"))
    page.click("[data-action=save]")
    error = page.locator("[data-role=save-error] [role=alert]").first
    expect(error).to_contain_text("invalid dashboard at spec.widgets[1]")
    expect(error).to_contain_text("spec.widgets.1")
    expect(page.locator("[data-widget=b]")).to_have_class(has_class("invalid"))
    # A bad metric name lands next to its own input.
    x.fill("4")
    x.blur()
    page.click("[data-widget=a]")
    page.fill("[data-widget-form=a] textarea[name=text]", "")
    page.select_option("[data-role=new-type]", "gauge")
    page.click("[data-action=add-widget]")
    gauge = page.locator("[data-widget-form=gauge-1]")
    gauge.locator("input[name=metric]").fill("1bad")
    gauge.locator("input[name=metric]").blur()
    page.click("[data-action=save]")
    expect(gauge.locator("[data-error-for='spec.widgets.2.config.metric']")).to_be_visible()
    gauge.locator("input[name=metric]").fill("pressure")
    gauge.locator("input[name=metric]").blur()
    # Someone else saves meanwhile: 409, and the newer version can be loaded.
    world.call(
        "PUT",
        f"{T}/dashboards/clash",
        who="acme-op",
        json={"title": "theirs", "spec": spec, "version": 1},
    )
    page.click("[data-action=save]")
    expect(page.locator("[data-role=save-error]")).to_contain_text("version")
    page.click("[data-action=load-latest]")
    expect(page.locator("#dash-meta input[name=title]")).to_have_value("theirs")
    expect(page.locator("[data-role=edit-grid] [data-widget]")).to_have_count(2)
    page.click("[data-action=save]")
    expect(page.locator("[data-role=save-status]")).to_have_text("Saved (version 3)")
    assert errors_but(tab, 422, 409) == []


def has_class(name: str) -> re.Pattern[str]:
    return re.compile(rf"(^|\s){name}(\s|$)")


def test_import_refuses_a_bad_document_with_its_message(tab: Tab, tmp_path: Path) -> None:
    tab.sign_in("acme-op", PASSWORD, "en", "dashboards")
    page = tab.page
    page.click("[data-action=import-dashboard]")
    bad = {
        "format": "helan.dashboard/v1",
        "title": "bad",
        "spec": {
            "widgets": [
                {"id": "p", "type": "pie", "x": 0, "y": 0, "w": 4, "h": 2, "config": {}},
            ]
        },
    }
    files = page.locator("#import-dashboard input[type=file]")
    files.set_input_files(
        {"name": "bad.json", "mimeType": "application/json", "buffer": json.dumps(bad).encode()}
    )
    page.click("#import-dashboard button[type=submit]")
    error = page.locator("[data-role=import-error] [role=alert]")
    expect(error).to_contain_text("unknown widget type 'pie'")
    expect(error).to_contain_text("spec.widgets.0.type")
    files.set_input_files({"name": "x.json", "mimeType": "application/json", "buffer": b"{nope"})
    page.click("#import-dashboard button[type=submit]")
    expect(error).not_to_contain_text("pie")
    expect(error).not_to_have_text("")
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (300 * 1024))
    files.set_input_files(str(big))
    page.click("#import-dashboard button[type=submit]")
    expect(error).to_contain_text("307200 bytes")
    good = {**bad, "spec": {"widgets": [{**bad["spec"]["widgets"][0], "type": "text"}]}}  # type: ignore[index]
    good["spec"]["widgets"][0]["config"] = {"text": "ok"}  # type: ignore[index]
    files.set_input_files(
        {"name": "ok.json", "mimeType": "application/json", "buffer": json.dumps(good).encode()}
    )
    page.fill("#import-dashboard input[name=id]", "imported")
    page.click("#import-dashboard button[type=submit]")
    ready_grid(page)
    assert page.evaluate("location.hash") == "#/dashboards/imported"
    expect(page.locator("[data-widget=p] .w-text")).to_have_text("ok")
    assert errors_but(tab, 422) == []


def test_share_link_opens_read_only_for_a_viewer(browser: Browser, tab: Tab, world: Served) -> None:
    tab.sign_in("acme-admin", PASSWORD, "en", "dashboards/line")
    page = tab.page
    ready_grid(page)
    page.click("[data-action=share]")
    link = page.locator("[data-role=share-link]")
    expect(link).to_have_value(re.compile(rf"^{re.escape(world.base)}/#/dashboards/shared/hd_\S+$"))
    url = link.input_value()
    viewer = open_tab(browser, world.base)
    try:
        route = url.split("#/", 1)[1]
        viewer.sign_in("acme-viewer", PASSWORD, "en", route.replace("/", "%2F"))
        ready_grid(viewer.page)
        v = viewer.page
        expect(v.locator("[data-role=read-only]")).to_contain_text("admin")
        expect(v.locator("[data-widget=g] canvas")).not_to_have_count(0)
        assert v.locator("[data-write]").count() == 0
        assert v.locator("[data-action=share], [data-action=export]").count() == 0
        viewer.goto("dashboards/line/edit")
        expect(v.locator("[data-page=dashboard_edit] [role=alert]")).to_be_visible()
        viewer.goto("dashboards")
        expect(v.locator("#no-dashboards")).to_be_visible()
        assert v.locator("[data-write]").count() == 0
        assert viewer.js_errors() == []
    finally:
        viewer.page.close()
    page.click("[data-action=unshare]")
    expect(page.locator("[data-role=share]")).to_contain_text("no longer")
    token = url.rsplit("/", 1)[1]
    r = world.http.get(
        f"{T}/dashboard-shares/{token}",
        headers={"Authorization": f"Bearer {world.tokens['acme-viewer']}"},
    )
    assert r.status_code == 404
    assert tab.js_errors() == []


def test_wall_in_chinese_rotates_and_reconnects(tab: Tab, world: Served) -> None:
    spec = {
        "widgets": [
            {
                "id": "big",
                "type": "value",
                "x": 0,
                "y": 0,
                "w": 6,
                "h": 3,
                "config": {"device": "press-2", "metric": "pressure", "unit": "bar"},
            }
        ]
    }
    world.call(
        "POST",
        f"{T}/dashboards",
        who="acme-admin",
        json={"id": "w2", "title": "二号", "spec": spec},
    )
    tab.sign_in("acme-admin", PASSWORD, "zh-CN", "dashboards")  # the wall has no menu to wait for
    tab.goto("wall?dashboards=line,w2&rotate=5", "zh-CN")
    page = tab.page
    ready_grid(page)
    assert page.evaluate("document.body.classList.contains('wall-mode')")
    expect(page.locator("#nav")).to_be_hidden()
    expect(page.locator("[data-role=wall-title]")).to_have_text("冲压线看板")
    expect(page.locator("[data-role=position]")).to_have_text("1 / 2")
    expect(page.locator("[data-role=clock]")).to_have_text(re.compile(r"\d{1,2}:\d{2}:\d{2}$"))
    expect(page.locator("[data-role=live]")).to_have_text("实时")
    expect(page.locator("[data-widget=ts] canvas")).not_to_have_count(0)
    # A network blip: the mark says so, the widgets stay, the stream comes back by itself.
    page.evaluate("import('/console/lib/live.js').then((m) => m.drop())")
    expect(page.locator("[data-role=live]")).to_have_attribute("data-state", "retrying")
    expect(page.locator("[data-role=live]")).to_have_text("重新连接中…")
    assert page.locator("[data-widget=ts]").count() == 1
    expect(page.locator("[data-role=live]")).to_have_attribute("data-state", "open")
    expect(page.locator("[data-role=wall-title]")).to_have_text("二号", timeout=8000)
    expect(page.locator("[data-widget=big] [data-role=value]")).to_contain_text("bar")
    expect(page.locator("[data-role=position]")).to_have_text("2 / 2")
    # The overview wall: every device with its state, the chooser for a rotation.
    page.click("[data-action=exit]")
    expect(page.locator("[data-role=devices] [data-device]")).to_have_count(3)
    expect(page.locator("[data-tile=devices] .n")).to_have_text("3")
    expect(page.locator("[data-role=wall-title]")).to_have_text("总览")
    page.check("#wall-chooser input[value=w2]")
    page.click("#wall-chooser button[type=submit]")
    ready_grid(page)
    assert "dashboards=w2" in page.evaluate("location.hash")
    assert tab.js_errors() == []


def test_attacker_named_dashboard_title_is_text(tab: Tab, world: Served) -> None:
    world.call(
        "POST",
        f"{T}/dashboards",
        who="acme-admin",
        json={"id": "xss", "title": XSS_NAME, "description": XSS_NAME, "spec": {"widgets": []}},
    )
    tab.sign_in("acme-admin", PASSWORD, "en", "dashboards")
    page = tab.page
    expect(page.locator("tr[data-dashboard=xss] [data-role=title]")).to_have_text(XSS_NAME)
    page.click("tr[data-dashboard=xss] [data-role=title]")
    expect(page.locator(".page-head h2")).to_have_text(XSS_NAME)
    expect(page.locator("[data-role=description]")).to_have_text(XSS_NAME)
    tab.goto("dashboards/xss/edit")
    expect(page.locator("#dash-meta input[name=title]")).to_have_value(XSS_NAME)
    tab.goto("wall?dashboards=xss")
    expect(page.locator("[data-role=wall-title]")).to_have_text(XSS_NAME)
    no_script_ran(page)
    assert tab.js_errors() == []


def test_reports_run_download_pdf_and_xlsx(tab: Tab, world: Served) -> None:
    tab.sign_in("acme-op", PASSWORD, "zh-CN", "reports")
    page = tab.page
    row = page.locator("tr[data-report=daily]")
    expect(row.locator("[data-role=title]")).to_have_text("日报")
    row.locator("[data-action=run]").click()
    runs = page.locator("[data-role=runs][data-report=daily]")
    expect(runs.locator("tr[data-run]")).to_have_count(1, timeout=20_000)
    expect(page.locator("[data-role=run-status]")).to_have_attribute("data-status", "ok")
    assert "runs=daily" in page.evaluate("location.hash")
    with page.expect_download() as pdf:
        runs.locator("[data-action=pdf]").first.click()
    assert Path(pdf.value.path()).read_bytes().startswith(b"%PDF")
    with page.expect_download() as xlsx:
        runs.locator("[data-action=xlsx][data-device=press-1]").click()
    assert Path(xlsx.value.path()).read_bytes().startswith(b"PK")  # a zip: XLSX
    assert tab.js_errors() == []


def test_report_form_shows_the_servers_refusal_and_creates(tab: Tab, world: Served) -> None:
    tab.sign_in("acme-op", PASSWORD, "en", "reports")
    page = tab.page
    page.click("[data-action=new-report]")
    form = page.locator("#new-report")
    form.locator("input[name=id]").fill("weekly-press")
    form.locator("input[name=title_zh]").fill("周报")
    form.locator("input[name=title_en]").fill("Weekly")
    form.locator("textarea[name=series]").fill("press-1 temp 温度\npress-2 pressure")
    form.locator("input[name=recipients]").fill("not-an-address")
    form.locator("button[type=submit]").click()
    expect(form.locator("[data-error-for^=recipients]")).to_be_visible()
    form.locator("input[name=recipients]").fill("ops@example.com")
    page.select_option("#new-report select[name=schedule]", "weekly")
    form.locator("button[type=submit]").click()
    row = page.locator("tr[data-report=weekly-press]")
    expect(row).to_contain_text("温度")
    expect(row).to_contain_text("ops@example.com")
    expect(row.locator("[data-action=run-mail]")).to_have_count(1)
    made = world.call("GET", f"{T}/reports/weekly-press", who="acme-op")
    assert made["source"]["series"][1] == {"device": "press-2", "metric": "pressure"}
    assert made["schedule"] == "weekly"
    assert errors_but(tab, 422) == []


def test_viewer_sees_reports_without_write_controls(tab: Tab) -> None:
    tab.sign_in("acme-viewer", PASSWORD, "en", "reports")
    page = tab.page
    expect(page.locator("tr[data-report=daily]")).to_have_count(1)
    assert page.locator("[data-write]").count() == 0
    page.click("tr[data-report=daily] [data-action=runs]")
    expect(page.locator("[data-role=runs][data-report=daily]")).to_be_visible()
    assert tab.js_errors() == []
