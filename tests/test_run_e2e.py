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
from playwright.sync_api import sync_playwright

from tests.conftest import free_port

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
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "helan", "run", "--sim", "--sim-devices", "12"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{http_port}"
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
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(locale="zh-CN")
            page.goto(f"{running.base}/")
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", running.password)
            page.click("#login-form button[type=submit]")
            page.wait_for_selector("#devices tr .badge.on", timeout=60_000)
            # zh-CN is the default language for a zh-CN browser.
            assert "在线" in page.inner_text("#devices")
            page.click("#devices tr .val >> nth=0")
            page.wait_for_selector("#chart path.line", timeout=30_000)
            _raise_breakdown(running)  # the alarm list shows it with its level in Chinese
            page.wait_for_selector("#events tr.level-fault", timeout=30_000)
            row = page.inner_text("#events tr.level-fault")
            assert "故障" in row
            assert "breakdown" in row
            assert "cause=die_jam" in row
            page.screenshot(path=str(tmp_path / "console-zh.png"), full_page=True)
            page.select_option("#lang", "en")
            page.wait_for_function(
                "document.querySelector('#devices').innerText.includes('online')", timeout=10_000
            )
        finally:
            browser.close()
