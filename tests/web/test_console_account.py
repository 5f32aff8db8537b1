"""Signing in with a second factor in Chromium: a security officer past the enrolment grace
period lands on "My account" and reaches nothing else, enrols from the QR code (the secret the
page shows is the one the code is made from), sees the recovery codes once, signs in again
with a code (zh-CN form), and ends another of their sessions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pyotp
import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from tests.web.browser import Tab
from tests.web.world import PASSWORD, Served, serve

from helan.storage.meta.models import User


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("account") / "var") as served:
        body = {"username": "sofia", "password": PASSWORD, "role": "security_officer"}
        served.call("POST", "/api/v1/users", json=body)
        with served.platform.meta.session() as s:
            s.execute(
                sa.update(User)
                .where(User.username == "sofia")
                .values(created_at=datetime.now(UTC) - timedelta(days=30))
            )
        yield served


def test_officer_enrols_then_signs_in_with_a_code(tab: Tab, world: Served) -> None:
    page = tab.page
    tab.page.goto(f"{tab.base}/?lang=en#/signin?next=%23%2Faudit")
    page.fill("input[name=username]", "sofia")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("[data-page=account]")).to_be_visible()  # not the audit page asked for
    expect(page.locator("#factor-required")).to_be_visible()
    page.goto(f"{tab.base}/?lang=en#/overview")
    expect(page.locator("[data-page=account]")).to_be_visible()  # held to the account page

    page.click("#factor-enrol")
    expect(page.locator("#factor-qr svg")).to_be_visible()
    secret = page.locator("#factor-secret").inner_text()
    totp = pyotp.TOTP(secret)
    page.fill("#factor-confirm input[name=code]", "000000" if totp.now() != "000000" else "111111")
    page.click("#factor-confirm button[type=submit]")
    expect(page.locator("#factor-confirm .error")).not_to_be_empty()
    page.fill("#factor-confirm input[name=code]", totp.now())
    page.click("#factor-confirm button[type=submit]")
    codes = page.locator("#recovery-codes li")
    expect(codes).to_have_count(10)
    recovery = codes.first.inner_text().strip()
    second = codes.nth(1).inner_text().strip()

    # another login of sofia's elsewhere, to end from the console
    other = httpx.post(
        f"{world.base}/api/v1/auth/token",
        json={"username": "sofia", "password": PASSWORD, "otp": recovery},
        headers={"user-agent": "other-laptop"},
    )
    assert other.status_code == 200, other.text

    page.click("#logout")
    page.goto(f"{tab.base}/?lang=zh-CN#/signin?next=%23%2Faccount")
    page.fill("input[name=username]", "sofia")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#otp-field")).to_be_visible()
    expect(page.locator("#login-error")).to_have_text("请输入第二因素验证码。")
    page.fill("input[name=otp]", second)  # the TOTP's current step was spent on confirming
    page.click("#login-form button[type=submit]")
    expect(page.locator("[data-page=account]")).to_be_visible()
    expect(page.locator("#factor .badge")).to_have_text("已绑定")

    row = page.locator("#sessions tr", has_text="other-laptop")
    expect(row).to_have_count(1)
    row.locator("button[data-end]").click()
    expect(page.locator("#sessions tr", has_text="other-laptop")).to_have_count(0)
    refresh = httpx.post(
        f"{world.base}/api/v1/auth/refresh",
        json={"refresh_token": other.json()["refresh_token"]},
    )
    assert refresh.status_code == 401
    # the refused code (422) and the sign-in that asked for a code (401) are logged by the
    # browser as failed loads; nothing else may be
    assert [e for e in tab.js_errors() if "Failed to load resource" not in e] == []
