"""The security centre's console pages in Chromium: a platform administrator imports a CISA
advisory through the form (a broken file gets the server's error), the advisory lists this
tenant's affected asset, its detail shows statuses and remediations, and the inventory shows
vendor, firmware, CPE and worst status, filtered; a viewer reads them in Chinese without an
import control, and an advisory's ``<script>`` note stays text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from playwright.sync_api import expect
from tests.web.browser import Tab, no_script_ran
from tests.web.world import PASSWORD, XSS_NAME, Served, seed, serve

CSAF = Path(__file__).parents[2] / "data" / "csaf" / "icsa-24-256-13.json"
T = "/api/v1/tenants/acme"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("security") / "var") as served:
        seed(served, year=False)
        products = {
            "press-1": ("Siemens AG", "SCALANCE WAM763-1", "V2.3.0"),  # < V2.4.0: affected
            "press-2": ("西门子", "SCALANCE WAM763-1", "V2.4.0"),
        }
        for device, (vendor, model, firmware) in products.items():
            body = {"vendor": vendor, "model": model, "firmware": firmware}
            served.call("PATCH", f"{T}/devices/{device}", json=body)
        yield served


def test_import_advisory_then_read_matches_and_inventory(
    tab: Tab, world: Served, tmp_path: Path
) -> None:
    tab.sign_in("admin", world.admin_password, "en", "security/advisories")
    page = tab.page
    page.click("[data-action=import-advisory]")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    page.set_input_files("#import-advisory input[name=document]", str(broken))
    page.click("#import-advisory button[type=submit]")
    expect(page.locator("#import-result .error")).to_be_visible()
    page.set_input_files("#import-advisory input[name=document]", str(CSAF))
    page.click("#import-advisory button[type=submit]")
    expect(page.locator("#import-result")).to_contain_text(
        "ICSA-24-256-13 version 1: new, 1 alerts raised"
    )
    row = page.locator("tr[data-advisory=ICSA-24-256-13]")
    expect(row.locator("td").last).to_have_text("1")  # press-1 only
    expect(row.locator(".badge").first).to_have_text("9.1")
    row.locator("a").click()
    expect(page.locator("#advisory-assets tr[data-match=press-1]")).to_have_attribute(
        "data-status", "affected"
    )
    expect(page.locator("#advisory-assets tr[data-match=press-2]")).to_have_attribute(
        "data-status", "not_affected"
    )
    affected = page.locator("#advisory-assets tr[data-match=press-1]")
    expect(affected.locator(".badge").first).to_have_text("Affected")
    assert affected.locator("li").count() >= 1  # remediations
    expect(page.locator("#advisory-facts")).to_contain_text("CVE-")

    page.goto(f"{world.base}/?lang=en#/security/assets")
    first = page.locator("#security-assets tr[data-asset=press-1]")
    expect(first).to_have_attribute("data-worst", "affected")
    expect(first.locator("code")).to_have_text(
        "cpe:2.3:o:siemens:scalance_wam763-1_firmware:v2.3.0:*:*:*:*:*:*:*:*"
    )
    expect(page.locator("tr[data-asset=press-2]")).to_have_attribute("data-worst", "not_affected")
    expect(page.locator("tr[data-asset=press-3]")).to_have_attribute("data-worst", "none")
    expect(page.locator("#security-summary")).to_contain_text("1 affected")
    page.select_option("select[name=status]", "affected")
    expect(page.locator("#security-assets tbody tr")).to_have_count(1)
    assert "status=affected" in page.evaluate("location.hash")
    errors = tab.js_errors()  # the broken file's 422, as the browser logs it, and nothing else
    assert len(errors) == 1
    assert "422" in errors[0]


def test_viewer_reads_in_chinese_and_notes_stay_text(tab: Tab, world: Served) -> None:
    doc = orjson.loads(CSAF.read_bytes())
    doc["document"]["tracking"]["id"] = "HELAN-XSS-1"
    doc["document"]["notes"].append({"category": "general", "title": "xss", "text": XSS_NAME})
    world.call("POST", "/api/v1/security/advisories", content=orjson.dumps(doc))
    tab.sign_in("acme-viewer", PASSWORD, "zh-CN", "security/advisories")
    page = tab.page
    expect(page.locator("tr[data-advisory=HELAN-XSS-1]")).to_be_visible()
    expect(page.locator("main th").first).to_have_text("公告编号")
    assert page.locator("[data-action=import-advisory]").count() == 0
    page.locator("tr[data-advisory=HELAN-XSS-1] a").click()
    notes = page.locator("#advisory-notes")
    expect(notes).to_contain_text(XSS_NAME)
    expect(page.locator("#advisory-assets tr[data-match=press-1] .badge").first).to_have_text(
        "受影响"
    )
    no_script_ran(page)
    assert tab.js_errors() == []
