"""The scheduling app's pages in Chromium: a customer configures a product in the shop, an
impossible combination gets the rule's message, a good one a price and a promised date; the
order is placed and listed; the schedule page draws the plan with the order on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from tests.web.browser import Tab
from tests.web.world import Served, seed, serve

APP = "/api/v1/apps/scheduling/tenants/acme"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("scheduling") / "var") as served:
        seed(served, year=False)
        assert served.platform.apps is not None
        served.platform.apps.installs.install("acme", "scheduling")
        served.call("PUT", f"{APP}/items/plate", json={"id": "plate", "name": "Plate"})
        routing = {
            "id": "stamp",
            "item": "plate",
            "steps": [{"id": "stamp", "machines": ["press-1", "press-2"], "process_min": 1}],
        }
        served.call("PUT", f"{APP}/routings/stamp", json=routing)
        product = {
            "id": "plate-c",
            "name": "Custom plate",
            "name_zh": "定制钢板",
            "item": "plate",
            "routing": "stamp",
            "base_price": 50,
            "lot_size": 5,
            "options": [
                {
                    "id": "thick",
                    "name": "Thickness",
                    "choices": [
                        {"id": "t2", "name": "2 mm"},
                        {"id": "t8", "name": "8 mm", "price": 30},
                    ],
                },
                {
                    "id": "hole",
                    "name": "Holes",
                    "choices": [
                        {"id": "none", "name": "None"},
                        {"id": "many", "name": "Many", "price": 5},
                    ],
                },
            ],
            "rules": [
                {
                    "id": "thick-no-holes",
                    "when": [{"option": "thick", "choice": "t8"}],
                    "excludes": [{"option": "hole", "choice": "many"}],
                    "message": "8 mm plates cannot be perforated",
                }
            ],
        }
        served.call("PUT", f"{APP}/products/plate-c", json=product)
        yield served


def test_shop_quotes_orders_and_the_gantt_shows_it(tab: Tab, world: Served) -> None:
    tab.sign_in("admin", world.admin_password, "en", "apps/shop")
    page = tab.page
    page.select_option("select[name=thick]", "t8")
    page.select_option("select[name=hole]", "many")
    page.click("text=Price and delivery date")
    expect(page.locator("[data-quote] .error")).to_contain_text("8 mm plates cannot be perforated")
    page.select_option("select[name=hole]", "none")
    page.fill("input[name=quantity]", "12")
    page.click("text=Price and delivery date")
    expect(page.locator("[data-quote]")).to_contain_text("Total price: 960")
    expect(page.locator("[data-promised]")).not_to_have_attribute("data-promised", "")
    page.click("text=Place order")
    expect(page.locator("[data-quote]")).to_contain_text("Order placed")
    expect(page.locator("tr[data-order]")).to_have_count(1)
    # the one refused quote is the browser's only complaint
    assert [e for e in tab.errors if "422" not in e] == []
    tab.errors.clear()

    tab.page.goto(f"{tab.base}/?lang=zh-CN#/apps/schedule")
    expect(page.locator("[data-plan-version]")).to_contain_text("排程版本 1")
    expect(page.locator("[data-gantt] canvas")).to_have_count(1)
    assert not tab.errors
