"""The alarm and rule pages in Chromium: an alarm raised by the alarm service appears on an open
page without a reload and leaves it when it closes, operators acknowledge (one and selected),
shelve and unshelve, a viewer sees no write control, the zh-CN page and the performance report
render, the rule editor shows the server's 422 position at the field, backtests, saves with its
version (a 409 when someone saved since), deletes, exports and imports, and attacker-chosen
names are text."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import expect
from tests.web.browser import Tab, no_script_ran
from tests.web.world import PASSWORD, XSS_NAME, Served, seed, serve

from helan.rules.contracts import ConditionChange, Severity

T = "/api/v1/tenants/acme"
HOT = {
    "id": "hot",
    "name": "温度过高 hot",
    "target": {"device_type": "press"},
    "condition": {"kind": "threshold", "metric": "temp", "op": ">", "value": 85},
    "severity": "high",
    "message": "temp {temp} °C",
}
EVIL = {
    "id": "evil",
    "name": XSS_NAME,
    "target": {"device": "press-2"},
    "condition": {"kind": "threshold", "metric": "pressure", "op": ">", "value": 390},
    "message": XSS_NAME,
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("alarms") / "var") as served:
        seed(served, year=False)
        served.call(
            "POST",
            f"{T}/notification-channels",
            json={
                "id": "ops",
                "name": "值班 ops",
                "kind": "email",
                "config": {"recipients": ["o@x.cn"]},
            },
        )
        for rule in (HOT, EVIL):
            served.call("POST", f"{T}/rules", json=rule)
        for user in ("acme-admin", "acme-op", "acme-viewer"):
            served.login(user)
        yield served


_clock = [int(time.time() * 1000)]


def condition(
    s: Served,
    device: str,
    active: bool,
    *,
    rule: str = "hot",
    message: str = "temp 91.5 °C",
    severity: Severity = Severity.HIGH,
) -> str | None:
    """The rule's condition changes for the device (as the engine would say), through the
    platform's alarm service; the id of the device's open alarm of that rule after it."""
    _clock[0] += 1000
    change = ConditionChange(
        tenant="acme",
        rule_id=rule,
        rule_version=1,
        device=device,
        active=active,
        ts_ms=_clock[0],
        severity=severity,
        message=message,
        values={"temp": 91.5},
    )
    s.platform.alarms.apply([change])
    found = s.call("GET", f"{T}/alarms?device={device}&rule={rule}&open=true")["items"]
    return found[0]["id"] if found else None


def close_all(s: Served) -> None:
    """Every open alarm force-closed, so a test starts from an empty open list."""
    for a in s.call("GET", f"{T}/alarms?open=true&limit=1000")["items"]:
        s.call("POST", f"{T}/alarms/{a['id']}:clear", json={"comment": "test reset"})


def open_live(tab: Tab, user: str, route: str, lang: str = "en") -> None:
    tab.sign_in(user, PASSWORD, lang, route)
    tab.page.wait_for_selector("#alarm-list[data-live='1']")
    tab.page.wait_for_selector("#live-mark[data-state=open]")


def unexpected(tab: Tab, *allowed: int) -> list[str]:
    """JavaScript errors other than the browser's log of answers the test provoked."""
    return [
        e
        for e in tab.js_errors()
        if not any(f"status of {code}" in e or e.startswith(f"{code}:") for code in allowed)
    ]


def test_alarm_appears_live_is_acknowledged_and_leaves_when_it_closes(
    tab: Tab, world: Served
) -> None:
    close_all(world)
    open_live(tab, "acme-op", "alarms")
    page = tab.page
    expect(page.locator("#no-alarms")).to_be_visible()
    page.evaluate("window.__same_page = 1")
    alarm = condition(world, "press-1", True)
    assert alarm is not None
    row = page.locator(f"tr[data-alarm='{alarm}']")
    expect(row).to_have_attribute("data-state", "unack_active")
    expect(row).to_contain_text("temp 91.5 °C")
    expect(row).to_contain_text("press-1")
    expect(page.locator("#alarm-total")).to_have_text("1 alarms")
    condition(world, "press-1", True)  # a repeat of the same occurrence
    expect(row.locator("td.num")).to_have_text("2")
    row.locator("[data-action=ack]").click()
    expect(row).to_have_attribute("data-state", "ack_active")
    expect(row.locator("[data-action=ack]")).to_have_count(0)
    assert world.call("GET", f"{T}/alarms/{alarm}")["acknowledged_by"] == "acme-op"
    condition(world, "press-1", False)  # acknowledged and back to normal: closed
    expect(row).to_have_count(0)
    expect(page.locator("#no-alarms")).to_be_visible()
    assert page.evaluate("window.__same_page") == 1  # no reload happened
    page.select_option("#alarm-state", "closed")
    expect(row).to_have_attribute("data-state", "normal")
    assert "state=closed" in page.evaluate("location.hash")
    row.locator("[data-role=message]").click()
    page.wait_for_selector("[data-section=alarm-history] tr[data-history]")
    history = page.locator("[data-section=alarm-history] tbody tr")
    expect(history).to_have_count(4)  # activate, activate (repeat), acknowledge, return
    actions = [history.nth(i).get_attribute("data-action") for i in range(4)]
    assert actions == ["activate", "activate", "acknowledge", "return"]
    expect(history.nth(2)).to_contain_text("acme-op")
    expect(page.locator("[data-section=alarm] dl")).to_contain_text("hot (v1)")
    # A closed alarm can only be commented on.
    assert [
        b.get_attribute("data-action") for b in page.locator("[data-role=actions] button").all()
    ] == ["comment"]
    assert unexpected(tab) == []


def test_acknowledge_selected_shelve_unshelve_clear_and_refusals(tab: Tab, world: Served) -> None:
    close_all(world)
    one = condition(world, "press-1", True)
    two = condition(world, "press-2", True)
    open_live(tab, "acme-op", "alarms")
    page = tab.page
    bulk = page.locator("[data-action=ack-selected]")
    expect(bulk).to_be_disabled()
    page.check(f"[data-select='{one}']")
    page.check(f"[data-select='{two}']")
    bulk.click()
    expect(page.locator("[data-role=ack-result]")).to_contain_text("2 acknowledged")
    for alarm in (one, two):
        expect(page.locator(f"tr[data-alarm='{alarm}']")).to_have_attribute(
            "data-state", "ack_active"
        )
    expect(page.locator("[data-select]")).to_have_count(0)  # nothing left to acknowledge

    # Shelve without a reason: refused in the page, the alarm stays as it was.
    row = page.locator(f"tr[data-alarm='{one}']")
    row.locator("[data-action=shelve]").click()
    page.click("dialog [data-action=confirm]")
    expect(page.locator("[data-role=action-result] .error")).to_contain_text("Please give a text")
    expect(row).to_have_attribute("data-state", "ack_active")
    row.locator("[data-action=shelve]").click()
    page.select_option("dialog [data-role=shelve-for]", "900")
    page.fill("dialog [data-role=dialog-text]", "sensor being replaced")
    page.click("dialog [data-action=confirm]")
    expect(row).to_have_attribute("data-state", "shelved")
    shelved = world.call("GET", f"{T}/alarms/{one}")
    assert 890_000 < shelved["shelved_until"] - int(time.time() * 1000) <= 900_000
    row.locator("[data-action=unshelve]").click()
    expect(row).to_have_attribute("data-state", "unack_active")  # still active: annunciated
    # The live connection breaks; meanwhile another operator acknowledges and an alarm is raised.
    page.route(re.compile(r"/stream\?"), lambda route: route.abort())
    page.evaluate("import('/console/lib/live.js').then((live) => live.drop())")
    expect(page.locator("#live-mark")).not_to_have_attribute("data-state", "open")
    world.call("POST", f"{T}/alarms/{one}:acknowledge", who="acme-admin", json={})
    three = condition(world, "press-3", True)
    expect(row).to_have_attribute("data-state", "unack_active")  # the page did not hear it
    row.locator("[data-action=ack]").click()
    expect(page.locator("[data-role=action-result] .error")).to_contain_text("cannot acknowledge")
    expect(row).to_have_attribute("data-state", "ack_active")  # read again after the 409
    assert page.locator(f"tr[data-alarm='{three}']").count() == 0
    page.unroute(re.compile(r"/stream\?"))
    # Reconnected: the list is read again, with what it missed.
    expect(page.locator(f"tr[data-alarm='{three}']")).to_have_attribute(
        "data-state", "unack_active", timeout=20_000
    )
    row.locator("[data-action=clear]").click()
    page.fill("dialog [data-role=dialog-text]", "false alarm")
    page.click("dialog [data-action=confirm]")
    expect(row).to_have_count(0)
    assert world.call("GET", f"{T}/alarms/{one}")["state"] == "normal"
    assert unexpected(tab, 409) == []


def test_a_viewer_sees_alarms_and_rules_without_write_controls(tab: Tab, world: Served) -> None:
    close_all(world)
    alarm = condition(world, "press-3", True)
    open_live(tab, "acme-viewer", "alarms")
    page = tab.page
    row = page.locator(f"tr[data-alarm='{alarm}']")
    expect(row).to_have_attribute("data-state", "unack_active")
    assert page.locator("[data-action=ack], [data-action=ack-selected], [data-select]").count() == 0
    assert page.locator("main button.write, main [data-write]").count() == 0
    page.goto(f"{world.base}/?lang=en#/alarms/{alarm}")
    page.wait_for_selector("[data-section=alarm-history] tr[data-history]")
    assert page.locator("[data-role=actions] button").count() == 0
    page.goto(f"{world.base}/?lang=en#/rules")
    page.wait_for_selector("#rule-list tr[data-rule=hot]")
    assert page.locator("[data-action=new-rule], #rule-import").count() == 0
    page.goto(f"{world.base}/?lang=en#/rules/hot")
    page.wait_for_selector("[data-section=versions] tr[data-version]")
    expect(page.locator("#rule-form fieldset")).to_have_attribute("disabled", "")
    expect(page.locator("input[name=name]")).to_be_disabled()
    expect(page.locator("textarea[name=condition]")).to_be_disabled()
    assert page.locator("#rule-form button").count() == 0
    page.goto(f"{world.base}/?lang=en#/rules/new")
    expect(page.locator("main .error")).to_contain_text("may not open")
    assert unexpected(tab) == []


def test_the_zh_cn_alarm_page_and_the_performance_report(tab: Tab, world: Served) -> None:
    close_all(world)
    for _ in range(3):  # activations of its own: the report must not depend on other tests
        condition(world, "press-2", True)
        condition(world, "press-2", False)
    alarm = condition(world, "press-1", True)
    open_live(tab, "acme-admin", "alarms", "zh-CN")
    page = tab.page
    expect(page.locator(".page-head h2")).to_have_text("告警")
    row = page.locator(f"tr[data-alarm='{alarm}']")
    expect(row.locator(".badge").first).to_have_text("活动，未确认")
    expect(row.locator(".badge.sev-high")).to_have_text("高")
    expect(page.locator("#alarm-list th").nth(1)).to_have_text("状态")
    page.click("[data-tab=report]")
    chart = page.locator("[data-role=rate-chart][data-ready='1']")
    expect(chart).to_have_count(1)
    assert chart.get_attribute("data-periods") == "144"  # 24 h of 10-minute periods
    report = world.call("GET", f"{T}/alarms:report")
    assert int(chart.get_attribute("data-alarms") or 0) == report["alarms"] >= 4
    assert sum(report["per_period"]) == report["alarms"]
    assert page.locator("[data-role=rate-chart] canvas").count() >= 1
    expect(page.locator("[data-tile=alarms] .n")).to_have_text(str(report["alarms"]))
    expect(page.locator("[data-section=top] tbody tr").first).to_contain_text("hot")
    expect(page.locator("[data-section=top] h3")).to_have_text("最频繁的前 10 项")
    assert "tab=report" in page.evaluate("location.hash")
    page.select_option("#report-range", "7d")
    expect(page.locator("[data-role=rate-chart][data-periods='1008']")).to_have_count(1)
    page.fill("#report-operators", "0")
    page.dispatch_event("#report-operators", "change")
    expect(page.locator("#alarm-report .error")).to_contain_text("1 到 1000")
    assert unexpected(tab) == []


def test_the_rule_editor_shows_the_servers_position_for_a_bad_condition(
    tab: Tab, world: Served
) -> None:
    tab.sign_in("acme-admin", PASSWORD, "en", "rules/hot")
    page = tab.page
    page.wait_for_selector("[data-section=versions] tr[data-version]")
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "rules:validate" in r.url else None)
    # Not JSON: marked in the page, nothing sent.
    page.fill("textarea[name=condition]", '{"kind": "expr", "expr": ')
    page.click("[data-action=validate]")
    expect(page.locator(".field-error[data-error-for=condition]")).to_contain_text("Not JSON")
    assert asked == []
    # A syntax error in the expression: the 422's position and message beside the field.
    page.fill("textarea[name=condition]", json.dumps({"kind": "expr", "expr": "temp > > 3"}))
    page.click("[data-action=validate]")
    error = page.locator(".field-error[data-error-for='condition.expr']")
    expect(error).to_contain_text("condition.expr: syntax error")
    expect(error).to_contain_text("column")
    expect(page.locator("textarea[name=condition]")).to_have_class("code invalid")
    assert len(asked) == 1
    # An unknown metric and an unknown device, each at its own field.
    page.fill("textarea[name=condition]", json.dumps({"kind": "expr", "expr": "speed > 3"}))
    page.select_option("[data-role=target-kind]", "device")
    page.fill("input[name=target]", "nope")
    page.click("[data-action=validate]")
    expect(page.locator(".field-error[data-error-for='target.device']")).to_contain_text(
        "no device 'nope'"
    )
    page.fill("input[name=target]", "press-1")
    page.click("[data-action=validate]")
    expect(page.locator(".field-error[data-error-for='condition.expr']")).to_contain_text(
        "unknown metric(s) speed"
    )
    expect(page.locator(".field-error[data-error-for='target.device']")).to_have_count(0)
    page.fill("input[name=for_s]", "-5")
    page.fill("textarea[name=condition]", json.dumps(HOT["condition"]))
    page.click("[data-action=validate]")
    expect(page.locator(".field-error[data-error-for=for_s]")).to_contain_text("for_s:")
    page.fill("input[name=for_s]", "30")
    page.click("[data-action=validate]")
    expect(page.locator("[data-role=valid]")).to_have_text("Valid: covers 1 devices")
    assert world.call("GET", f"{T}/rules/hot")["version"] == 1  # validating saves nothing
    assert unexpected(tab, 422) == []


def test_create_backtest_save_conflict_reload_and_delete(tab: Tab, world: Served) -> None:
    tab.sign_in("acme-admin", PASSWORD, "en", "rules")
    page = tab.page
    page.click("[data-action=new-rule]")
    page.wait_for_selector("#rule-form input[name=id]")
    page.fill("input[name=name]", "too cold")
    page.fill("input[name=target]", "press-1")
    # Seeded temperatures go 60..89 every 30 minutes: below 65 five minutes in each cycle.
    cold = {"kind": "threshold", "metric": "temp", "op": "<", "value": 65}
    page.fill("textarea[name=condition]", json.dumps(cold))
    page.click("[data-action=save]")
    expect(page.locator(".field-error[data-error-for=id]")).to_contain_text("needs an id")
    page.click("[data-action=backtest-24]")
    summary = page.locator("[data-role=backtest-summary]")
    expect(summary).to_contain_text("on 1 devices")
    raised = int(page.locator("[data-section=backtest]").get_attribute("data-raised") or 0)
    assert 40 <= raised <= 50
    assert page.locator("[data-section=backtest] tr[data-change=raised]").count() >= 40
    per_device = page.locator("tr[data-backtest-device=press-1] td")
    expect(per_device.nth(1)).to_have_text(str(raised))
    assert 200 <= float(per_device.nth(2).inner_text()) <= 280  # ~5 of every 30 minutes
    page.fill("input[name=id]", "cold")
    page.check("[data-notify='raised/ops']")
    page.check("[data-notify='escalated/ops']")
    page.click("[data-action=save]")
    expect(page.locator("[data-role=version]")).to_have_text("Version 1")
    assert page.evaluate("location.hash") == "#/rules/cold"
    saved = world.call("GET", f"{T}/rules/cold")
    assert saved["spec"]["condition"] == {**cold}
    assert saved["spec"]["target"] == {"device": "press-1"}
    assert saved["spec"]["notify"] == {
        "raised": ["ops"],
        "cleared": [],
        "escalated": ["ops"],
        "acknowledged": [],
    }
    expect(page.locator("[data-notify='raised/ops']")).to_be_checked()
    expect(page.locator("[data-notify='cleared/ops']")).not_to_be_checked()
    page.fill("input[name=name]", "too cold (edited)")
    page.click("[data-action=save]")
    expect(page.locator("[data-role=saved]")).to_have_text("Saved as version 2")
    expect(page.locator("[data-section=versions] tr[data-version]")).to_have_count(2)
    # Someone else saves version 3; this editor still holds version 2.
    other = {**saved["spec"], "name": "changed elsewhere"}
    world.call("PUT", f"{T}/rules/cold?version=2", who="acme-op", json=other)
    page.fill("input[name=name]", "my change")
    page.click("[data-action=save]")
    expect(page.locator("[data-role=conflict]")).to_contain_text("Someone else saved")
    assert world.call("GET", f"{T}/rules/cold")["name"] == "changed elsewhere"
    page.click("[data-action=reload]")
    expect(page.locator("[data-role=version]")).to_have_text("Version 3")
    expect(page.locator("input[name=name]")).to_have_value("changed elsewhere")
    # An old version back into the editor, saved as the new current one.
    page.click("tr[data-version='1'] [data-action=load-version]")
    expect(page.locator("input[name=name]")).to_have_value("too cold")
    page.click("[data-action=save]")
    expect(page.locator("[data-role=saved]")).to_have_text("Saved as version 4")
    assert world.call("GET", f"{T}/rules/cold")["name"] == "too cold"
    page.click("[data-action=delete]")
    page.click("dialog [data-action=confirm]")
    page.wait_for_selector("#rule-list tr[data-rule=hot]")
    assert page.locator("tr[data-rule=cold]").count() == 0
    r = world.http.get(
        f"{T}/rules/cold", headers={"Authorization": f"Bearer {world.tokens['admin']}"}
    )
    assert r.status_code == 404
    assert unexpected(tab, 409) == []


def test_export_and_import_rules(tab: Tab, world: Served) -> None:
    tab.sign_in("acme-admin", PASSWORD, "en", "rules")
    page = tab.page
    page.wait_for_selector("#rule-list tr[data-rule=hot]")
    with page.expect_download() as got:
        page.click("[data-action=export-yaml]")
    exported = yaml.safe_load(Path(got.value.path()).read_text("utf-8"))
    doc: dict[str, Any] = world.call("GET", f"{T}/rules:export?format=json")
    assert exported == doc
    assert {r["id"] for r in exported["rules"]} >= {"hot", "evil"}
    doc["rules"] = [
        {**r, "id": "hot-copy", "name": "副本 copy"} for r in doc["rules"] if r["id"] == "hot"
    ]
    page.set_input_files(
        "[data-role=import-file]",
        files=[
            {
                "name": "rules.json",
                "mimeType": "application/json",
                "buffer": json.dumps(doc).encode(),
            }
        ],
    )
    page.click("#rule-import button[type=submit]")
    expect(page.locator("[data-role=import-result]")).to_have_text("1 rules imported")
    expect(page.locator("tr[data-rule=hot-copy] [data-role=name]")).to_have_text("副本 copy")
    # Not a rules document: the server's 422 message on the page, nothing imported.
    bad = b"- [unclosed"
    said = world.http.post(
        f"{T}/rules:import",
        content=bad,
        headers={
            "Authorization": f"Bearer {world.tokens['admin']}",
            "Content-Type": "application/yaml",
        },
    )
    assert said.status_code == 422
    page.set_input_files(
        "[data-role=import-file]",
        files=[{"name": "bad.yaml", "mimeType": "application/yaml", "buffer": bad}],
    )
    page.click("#rule-import button[type=submit]")
    expect(page.locator("[data-role=rules-result] .error")).to_contain_text(
        said.json()["error"]["message"]
    )
    assert {r["id"] for r in world.call("GET", f"{T}/rules?limit=1000")["items"]} == {
        "hot",
        "evil",
        "hot-copy",
    }
    page.set_input_files("[data-role=import-file]", files=[])
    page.click("#rule-import button[type=submit]")
    expect(page.locator("[data-role=rules-result] .error")).to_contain_text("Choose a YAML")
    world.call("DELETE", f"{T}/rules/hot-copy")
    assert unexpected(tab, 422) == []


def test_attacker_named_rules_and_alarms_are_text(tab: Tab, world: Served) -> None:
    close_all(world)
    alarm = condition(world, "press-2", True, rule="evil", message=XSS_NAME, severity=Severity.LOW)
    open_live(tab, "acme-admin", "alarms")
    page = tab.page
    expect(page.locator(f"tr[data-alarm='{alarm}'] [data-role=message]")).to_have_text(XSS_NAME)
    # A live one too (made after the page was drawn).
    condition(world, "press-2", False, rule="evil", message=XSS_NAME)
    condition(world, "press-2", True, rule="evil", message=XSS_NAME)
    no_script_ran(tab.page)
    page.goto(f"{world.base}/?lang=en#/alarms/{alarm}")
    page.wait_for_selector("[data-section=alarm-history] tr[data-history]")
    expect(page.locator(".page-head h2")).to_have_text(f"{XSS_NAME} · press-2")
    page.goto(f"{world.base}/?lang=en#/rules")
    expect(page.locator("tr[data-rule=evil] [data-role=name]")).to_have_text(XSS_NAME)
    page.click("tr[data-rule=evil] [data-role=name]")
    expect(page.locator("input[name=name]")).to_have_value(XSS_NAME)
    expect(page.locator(".page-head h2")).to_have_text(f"{XSS_NAME} (evil)")
    no_script_ran(tab.page)
    assert unexpected(tab) == []


def test_an_unknown_alarm_is_a_clear_error(tab: Tab, world: Served) -> None:
    tab.sign_in("acme-admin", PASSWORD, "en", "alarms/no-such-alarm")
    expect(tab.page.locator("main .error")).to_contain_text("not found")
    tab.page.goto(f"{world.base}/?lang=en#/rules/no-such-rule")
    expect(tab.page.locator("main .error")).to_contain_text("no rule 'no-such-rule'")
    assert unexpected(tab, 404) == []
