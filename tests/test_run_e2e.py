"""`helan run --sim` end to end, as the README promises: a real process, the embedded broker,
the simulated factory publishing with device credentials, data queryable over the REST API and
visible in the console in a real browser (Chromium driven by Playwright)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import paho.mqtt.client as paho
import pytest

from tests.conftest import free_port
from tests.web.browser import chromium, open_tab

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e")]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@dataclass
class Running:
    base: str
    password: str
    proc: subprocess.Popen[str]
    mqtt_port: int

    def token(self, client: httpx.Client) -> dict[str, str]:
        r = client.post("/api/v1/auth/token", data={"username": "admin", "password": self.password})
        r.raise_for_status()
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _wait(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


RUN_DATA: list[Path] = [Path()]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    data = tmp_path_factory.mktemp("run") / "var"
    http_port, mqtt_port = free_port(), free_port()
    env = {
        **os.environ,
        "HELAN_DATA_DIR": str(data),
        "HELAN_HTTP_PORT": str(http_port),
        "HELAN_MQTT_EMBEDDED_PORT": str(mqtt_port),
        "HELAN_MQTT_URL": "",
        "HELAN_IDENT_PORT": "0",
        "HELAN_SIM_FIRST_FAULT_S": "3",  # a breakdown after 3 s, a pump anomaly after 4.5 s
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "helan", "run", "--sim", "--sim-devices", "12"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{http_port}"
    RUN_DATA[0] = data
    try:
        with httpx.Client(base_url=base, timeout=5) as client:
            _wait(lambda: client.get("/healthz").status_code == 200, 60, "healthz")
        password = (data / "admin-password.txt").read_text().strip()
        yield Running(base=base, password=password, proc=proc, mqtt_port=mqtt_port)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert proc.returncode == 0, out[-3000:]
    assert "Helan is running" in out
    assert "Traceback" not in out, out[-5000:]


def _live_with_values(client: httpx.Client, auth: dict[str, str]) -> list[dict[str, Any]]:
    r = client.get("/api/v1/tenants/demo/live", headers=auth)
    r.raise_for_status()
    return [d for d in r.json()["devices"] if d["online"] and d["values"]]


def test_run_with_simulated_factory_serves_live_queryable_data(running: Running) -> None:
    with httpx.Client(base_url=running.base, timeout=5) as client:
        assert client.get("/openapi.json").json()["info"]["title"] == "Helan"
        assert client.get("/docs").status_code == 200
        auth = running.token(client)
        _wait(lambda: len(_live_with_values(client, auth)) >= 6, 90, "live devices")
        device = _live_with_values(client, auth)[0]
        metric = next(m for m, v in device["values"].items() if isinstance(v["value"], float))
        now_ms = int(time.time() * 1000)
        window = {"start": now_ms - 3_600_000, "end": now_ms + 60_000}
        raw = client.get(
            f"/api/v1/tenants/demo/devices/{device['device']}/telemetry/{metric}",
            params=window,
            headers=auth,
        )
        assert raw.status_code == 200, raw.text
        assert len(raw.json()["points"]) >= 1
        agg = client.get(
            f"/api/v1/tenants/demo/devices/{device['device']}/telemetry",
            params={**window, "metrics": metric, "bucket": "1m", "fn": "avg"},
            headers=auth,
        )
        assert agg.status_code == 200, agg.text


def _raise_breakdown(running: Running) -> None:
    """A press of the demo's type reports a breakdown over MQTT with its own credential."""
    with httpx.Client(base_url=running.base, timeout=5) as client:
        r = client.post(
            "/api/v1/tenants/demo/devices",
            json={"id": "press-e2e", "name": "E2E press", "device_type": "stamping-press"},
            headers=running.token(client),
        )
        assert r.status_code == 201, r.text
        created = r.json()
    device = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="press-e2e")
    device.username_pw_set(created["username"], created["password"])
    device.connect("127.0.0.1", running.mqtt_port)
    device.loop_start()
    try:
        body = [{"ts": int(time.time() * 1000), "event": "breakdown", "data": {"cause": "die_jam"}}]
        info = device.publish("helan/v1/demo/press-e2e/events", orjson.dumps(body), qos=1)
        info.wait_for_publish(10)
    finally:
        device.loop_stop()
        device.disconnect()


def test_console_shows_live_devices_in_a_real_browser(running: Running, tmp_path: Path) -> None:
    assert Path(CHROMIUM).exists(), "Chromium is installed by `make test` (apt package chromium)"
    with chromium() as browser:
        tab = open_tab(browser, running.base, locale="zh-CN")
        page = tab.page
        tab.sign_in("admin", running.password, "zh-CN", "devices")
        page.wait_for_selector("#device-list [data-status] .badge.on", timeout=60_000)
        assert "在线" in page.inner_text("#device-list")  # zh-CN for a zh-CN browser
        page.click("#device-list tr[data-device=press-00001] a")
        chart = page.locator("[data-role=history-chart][data-ready='1']")
        chart.wait_for(timeout=30_000)
        assert int(chart.get_attribute("data-points") or 0) >= 1
        _raise_breakdown(running)
        tab.goto("devices/press-e2e", "zh-CN")
        row = page.locator("[data-section=events] tbody tr", has_text="breakdown")
        row.first.wait_for(timeout=30_000)
        text = row.first.inner_text()
        assert "故障" in text
        assert "die_jam" in text
        page.screenshot(path=str(tmp_path / "console-zh.png"), full_page=True)
        tab.goto("devices", "en")
        page.locator("#device-list .badge.on", has_text="online").first.wait_for(timeout=30_000)
        assert tab.js_errors() == []


def test_simulated_faults_raise_alarms_that_are_mailed_and_posted(running: Running) -> None:
    """The demo's rules (sim/alarms.py): the first CNC's breakdown and the first pump's SKAB
    vibration anomaly each raise one alarm; both reach the factory's own SMTP inbox and webhook."""
    with httpx.Client(base_url=running.base, timeout=5) as client:
        auth = running.token(client)

        def open_alarms() -> dict[str, dict[str, Any]]:
            r = client.get("/api/v1/tenants/demo/alarms", headers=auth)
            r.raise_for_status()
            wanted = {"cnc-breakdown", "pump-anomaly"}  # (the demo's advisory alarms aside)
            found = {a["rule_id"]: a for a in r.json()["items"] if a["open"]}
            return {k: found[k] for k in wanted} if wanted <= found.keys() else {}

        alarms = _wait(open_alarms, 90, "a breakdown alarm and a pump anomaly alarm")
    assert alarms["cnc-breakdown"]["device"] == "cnc-00001"
    assert alarms["cnc-breakdown"]["values"]["event"] == "breakdown"
    assert alarms["pump-anomaly"]["device"] == "pump-00001"
    assert alarms["pump-anomaly"]["values"]["vibration_1"] > 0.30
    assert all(a["state"] == "unack_active" and a["count"] == 1 for a in alarms.values())
    with chromium() as browser:  # the console's alarm list shows both, in Chinese
        tab = open_tab(browser, running.base, locale="zh-CN")
        tab.sign_in("admin", running.password, "zh-CN", "alarms")
        for alarm in alarms.values():
            row = tab.page.locator(f"#alarm-list tr[data-alarm='{alarm['id']}']")
            row.wait_for(timeout=30_000)
            assert alarm["device"] in row.inner_text()
        assert "未确认" in tab.page.inner_text("#alarm-list")
        assert tab.js_errors() == []
    inbox = RUN_DATA[0] / "sim-inbox"

    def delivered() -> tuple[list[Any], list[Any]]:
        def lines(name: str) -> list[Any]:
            f = inbox / name
            return [orjson.loads(x) for x in f.read_bytes().splitlines()] if f.exists() else []

        mail, hooks = lines("mail.jsonl"), lines("webhook.jsonl")
        ids = {a["id"] for a in alarms.values()}
        hooked = {h["body"].get("alarm_id") for h in hooks}
        return (mail, hooks) if len(mail) >= 2 and ids <= hooked else ([], [])

    mail, hooks = _wait(lambda: any(delivered()) and delivered(), 30, "e-mails and webhooks")
    assert any("Alarm raised" in m["subject"] for m in mail)
    assert all(m["to"] == ["shift-lead@demo.factory"] for m in mail)
    assert all(h["idempotency_key"] for h in hooks)
