"""The regional security platform's console pages in Chromium: the security officer publishes
a warning to an industry of a region, the enterprise's administrator (zh-CN) finds it and
reports remediation, its viewer reads it without a form, the region viewer sees the posture
per industry with counts only, and the enterprise lists its traffic anomalies."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from tests.web.browser import Tab
from tests.web.world import PASSWORD, Served, serve

from helan.core.events import EventRow
from helan.storage.meta.events import EventStore


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("centre") / "var") as served:
        served.login("admin", served.admin_password)
        body = {"id": "steel-a", "name": "宁钢", "industry": "steel", "region": "640104"}
        served.call("POST", "/api/v1/tenants", json=body)
        for user in (
            {"username": "steel-admin", "role": "tenant_admin"},
            {"username": "steel-viewer", "role": "viewer"},
        ):
            served.call(
                "POST", "/api/v1/tenants/steel-a/users", json={**user, "password": PASSWORD}
            )
        for user in (
            {"username": "officer", "role": "security_officer"},
            {"username": "nx-reg", "role": "region_viewer", "region": "640000"},
        ):
            served.call("POST", "/api/v1/users", json={**user, "password": PASSWORD})
        now = int(time.time() * 1000)
        EventStore(served.platform.meta).write(
            [
                EventRow(
                    "steel-a",
                    "plc-1",
                    now,
                    "security_anomaly",
                    "fault",
                    {"kind": "scan", "detail": "exception burst from 10.0.0.66"},
                )
            ]
        )
        yield served


def test_warning_published_acknowledged_and_seen_in_the_posture(tab: Tab, world: Served) -> None:
    page = tab.page
    tab.sign_in("officer", PASSWORD, "en", "security/warnings")
    form = page.locator("#publish-warning")
    form.locator("input[name=title]").fill("PLC web server RCE")
    form.locator("select[name=severity]").select_option("critical")
    form.locator("input[name=industries]").fill("steel")
    form.locator("input[name=regions]").fill("640000")
    form.locator("button[type=submit]").click()
    row = page.locator("#security-warnings tr", has_text="PLC web server RCE")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(3)).to_have_text("1")  # one enterprise reached
    page.click("#logout")

    tab.sign_in("steel-admin", PASSWORD, "zh-CN", "security/warnings")
    mine = page.locator("#security-warnings tr[data-warning]")
    expect(mine).to_have_count(1)
    expect(mine).to_contain_text("未确认")
    mine.locator("select[name=status]").select_option("remediated")
    mine.locator("input[name=affected_assets]").fill("2")
    mine.locator("button[type=submit]").click()
    expect(page.locator("#security-warnings tr[data-warning]")).to_have_attribute(
        "data-status", "remediated"
    )
    page.goto(f"{tab.base}/?lang=zh-CN#/security/events")
    event = page.locator("#security-events tr[data-event]")
    expect(event).to_have_count(1)
    expect(event).to_contain_text("exception burst from 10.0.0.66")
    page.click("#logout")

    tab.sign_in("steel-viewer", PASSWORD, "en", "security/warnings")
    expect(page.locator("#security-warnings tr[data-warning]")).to_have_count(1)
    expect(page.locator("#security-warnings form")).to_have_count(0)  # no write control
    page.click("#logout")

    tab.sign_in("nx-reg", PASSWORD, "en", "security/posture")
    page.goto(f"{tab.base}/?lang=en#/security/posture")  # a region viewer lands on its region
    steel = page.locator("#security-posture tr[data-industry=steel]")
    expect(steel).to_have_count(1, timeout=15_000)  # counted over every tenant of the region
    cells = steel.locator("td")
    expect(cells.nth(1)).to_have_text("1")  # enterprises
    expect(cells.nth(4)).to_have_text("0")  # the warning is remediated: none open
    expect(cells.nth(7)).to_have_text("1")  # the detection alert
    expect(page.locator("a[data-nav='security/posture']")).to_be_visible()
    assert [e for e in tab.js_errors() if "Failed to load resource" not in e] == []
