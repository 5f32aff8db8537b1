"""``helan bench console``: the console in Chromium (Playwright) against a served platform with
10,000 devices, a day of a 1 Hz series and a year of roll-ups behind it, and a 12-widget
dashboard fed live.

The platform is the real app (API + console) on a loopback port, uvicorn in a thread. The world
goes in through the stores, not the API, for speed: devices as one bulk insert into the metadata
database (the directory then reloads), telemetry as Arrow batches written to the telemetry
store and compacted, which builds the roll-ups. Times are taken in the page: an init script
records ``performance.now()`` when a selector first matches (the device list's rows, the history
chart's ``data-ready="1"``, the dashboard grid's ``data-ready="1"``), so no Playwright round trip
is counted. The baseline is the same browser loading a static HTML page of the rendered device
list's size (its DOM without scripts, same stylesheet) and timed the same way.
"""

from __future__ import annotations

import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import httpx
import orjson
import sqlalchemy as sa
import typer
import uvicorn
from fastapi.responses import HTMLResponse

from helan.admin.bootstrap import bootstrap_admin
from helan.api.app import create_app
from helan.config import Settings
from helan.core.points import batch_from_columns
from helan.observe.report import report
from helan.platform import Platform
from helan.storage.meta.directory import MetaDirectory, new_device_secret
from helan.storage.meta.models import Device
from helan.storage.telemetry.duckdb.store import DuckDBStore
from helan.web.routes import router as web_router

if TYPE_CHECKING:
    from playwright.sync_api import Page

TENANT = "bench"
T = f"/api/v1/tenants/{TENANT}"
CHARTED = "dev-00000"
DAY_S = 86_400
LIVE_DEVICES = [f"dev-{i:05d}" for i in range(1, 13)]
THING = {
    "id": "press",
    "name": "冲压机 Press",
    "properties": [
        {"name": "temp", "type": "float", "unit": "°C", "min": -20, "max": 200},
        {"name": "pressure", "type": "float", "unit": "bar", "min": 0, "max": 400},
    ],
}
# When a selector first matches, in ms since the document's time origin (window.__marks).
MARKS = {
    "list": "#device-list tr[data-device]",
    "list_status": "#device-list tr[data-device]:last-child [data-status] .badge",
    "chart": "[data-role=history-chart][data-ready='1']",
    "grid": "[data-role=grid][data-ready='1']",
}
MARK_SCRIPT = """(() => {
  const want = %s;
  window.__marks = {};
  const check = () => {
    for (const [key, sel] of Object.entries(want)) {
      if (key in window.__marks || !document.querySelector(sel)) continue;
      window.__marks[key] = performance.now();
    }
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, attributes: true,
    attributeFilter: ["data-ready", "class"] });
})();"""
LIVE_SCRIPT = """async (ms) => {
  const grid = document.querySelector("[data-role=grid]");
  const value = grid.querySelector("[data-widget=w7] [data-role=value]");
  let frames = 0, changes = 0, last = value.textContent;
  const seen = new MutationObserver(() => {
    if (value.textContent !== last) { changes += 1; last = value.textContent; }
  });
  seen.observe(value, { subtree: true, childList: true, characterData: true });
  const t0 = performance.now();
  let t1 = t0;
  await new Promise((done) => {
    const step = (t) => {
      frames += 1;
      t1 = t;
      if (t - t0 < ms) requestAnimationFrame(step);
      else done();
    };
    requestAnimationFrame(step);
  });
  seen.disconnect();
  return { frames, seconds: (t1 - t0) / 1000, changes };
}"""


def _dashboard() -> dict[str, Any]:
    """Twelve widgets on three rows: charts, gauges, value cards, a bar, a table, a timeline."""
    kinds = ["timeseries"] * 4 + ["gauge"] * 3 + ["value"] * 2 + ["bar", "table", "state_timeline"]
    widgets = []
    for i, (kind, device) in enumerate(zip(kinds, LIVE_DEVICES, strict=True)):
        series = [{"device": device, "metric": "temp"}]
        configs: dict[str, dict[str, Any]] = {
            "timeseries": {"series": series, "range": "1h"},
            "gauge": {"device": device, "metric": "pressure", "min": 0, "max": 400},
            "value": {"device": device, "metric": "temp", "unit": "°C"},
            "bar": {"series": [{"device": d, "metric": "temp"} for d in LIVE_DEVICES[:6]]},
            "table": {"series": series, "range": "1h", "mode": "latest"},
            "state_timeline": {"series": series, "range": "1h", "states": {"60": "hot"}},
        }
        widgets.append(
            {
                "id": f"w{i}",
                "type": kind,
                "title": f"{kind} {device}",
                "x": (i % 4) * 3,
                "y": (i // 4) * 4,
                "w": 3,
                "h": 4,
                "config": configs[kind],
            }
        )
    return {"columns": 12, "widgets": widgets}


def _seed(platform: Platform, http: httpx.Client, devices: int, now_ms: int) -> int:
    """Tenant, thing model and dashboard through the API; devices and telemetry through the
    stores. Returns the points written."""
    http.post("/api/v1/tenants", json={"id": TENANT, "name": "基准工厂"}).raise_for_status()
    http.post(f"{T}/device-types", json=THING).raise_for_status()
    rows = [
        {
            "tenant_id": TENANT,
            "id": f"dev-{i:05d}",
            "name": f"{i + 1} 号冲压机",
            "device_type_id": "press",
            "enabled": True,
            "attributes": {},
            "credential_hash": new_device_secret()[1],
        }
        for i in range(devices)
    ]
    with platform.meta.session() as s:
        s.execute(sa.insert(Device), rows)
        s.commit()
    assert isinstance(platform.directory, MetaDirectory)
    platform.directory.refresh()
    store = platform.telemetry
    day0 = now_ms - DAY_S * 1000
    ts = [day0 + i * 1000 for i in range(DAY_S)]  # the last day at 1 Hz
    ts_year = [day0 - i * 60_000 for i in range(365 * 1440, 0, -1)]  # a year before, 1 a minute
    written = 0
    for chunk in (ts_year, ts):
        values: list[float | None] = [60 + 20 * ((t // 60_000) % 37) / 37 for t in chunk]
        n = len(chunk)
        written += store.write(
            batch_from_columns([TENANT] * n, [CHARTED] * n, ["temp"] * n, chunk, values)
        )
    ids = [f"dev-{i:05d}" for i in range(devices)]
    n = len(ids)
    for metric, value in (("temp", 61.0), ("pressure", 200.0)):
        same: list[float | None] = [value] * n
        written += store.write(
            batch_from_columns([TENANT] * n, ids, [metric] * n, [now_ms] * n, same)
        )
    if isinstance(store, DuckDBStore):
        store.compact()  # staged rows into the tables and roll-ups now, not in 30 s
    http.post(
        f"{T}/dashboards", json={"id": "live12", "title": "十二个部件", "spec": _dashboard()}
    ).raise_for_status()
    return written


@contextmanager
def _served(data_dir: Path, pages: dict[str, str]) -> Iterator[tuple[str, Platform, str]]:
    """The app on a free loopback port; ``pages`` are extra static pages (the baseline's)."""
    platform = Platform.build(Settings(data_dir=data_dir))
    password = bootstrap_admin(platform.meta)
    assert password is not None
    app = create_app(platform)
    app.include_router(web_router)

    @app.get("/bench/{name}.html", include_in_schema=False)
    def bare(name: str) -> HTMLResponse:
        return HTMLResponse(pages.get(name, ""), status_code=200 if name in pages else 404)

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="bench-console-http", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, "the console's server did not start"
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}", platform, password
    finally:
        server.should_exit = True
        thread.join(10)
        platform.telemetry.close()
        platform.meta.close()


class _Feeder(threading.Thread):
    """Points for the dashboard's devices over HTTP ingest, every ``period_s``, until stopped."""

    def __init__(self, http: httpx.Client, period_s: float) -> None:
        super().__init__(name="bench-console-feeder", daemon=True)
        self.http, self.period_s, self.stop = http, period_s, threading.Event()
        self.sent, self.seconds = 0, 0.0

    def run(self) -> None:
        i = 0
        t0 = time.monotonic()
        while not self.stop.is_set():
            i += 1
            now = int(time.time() * 1000)
            rows = [
                {"device": d, "metric": m, "ts": now, "value": base + (i * 7 + j) % 40}
                for j, d in enumerate(LIVE_DEVICES)
                for m, base in (("temp", 50), ("pressure", 150))
            ]
            self.http.post(f"{T}/ingest", json=rows).raise_for_status()
            self.sent += len(rows)
            self.seconds = time.monotonic() - t0
            self.stop.wait(self.period_s)


def _mark(page: Page, key: str, timeout_s: float = 30) -> float:
    """The page's mark ``key`` (ms since its time origin), waiting for it."""
    page.wait_for_function(
        "(k) => window.__marks && k in window.__marks", arg=key, timeout=timeout_s * 1000
    )
    return float(page.evaluate("(k) => window.__marks[k]", key))


def _in_app(page: Page, hash_: str, key: str) -> float:
    """Ms from setting the hash (the console already loaded) to mark ``key``."""
    go = "(h) => { window.__marks = {}; location.hash = h; return performance.now(); }"
    t0 = float(page.evaluate(go, hash_))
    return _mark(page, key) - t0


def run(
    devices: Annotated[int, typer.Option(help="Devices in the tenant.")] = 10_000,
    repeats: Annotated[int, typer.Option(help="Timed loads per figure (median).")] = 7,
    live_s: Annotated[float, typer.Option(help="Seconds of live dashboard measured.")] = 10.0,
) -> None:
    """Device list, day and year charts, a live 12-widget dashboard; a bare page as baseline."""
    from playwright.sync_api import sync_playwright  # a dev dependency: only when run

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    errors: list[str] = []
    pages: dict[str, str] = {}
    work = Path(tempfile.mkdtemp(prefix="helan-bench-console-"))
    try:
        with _served(work / "var", pages) as (base, platform, password), sync_playwright() as pw:
            http = httpx.Client(base_url=base, timeout=60)
            token = http.post(
                "/api/v1/auth/token", json={"username": "admin", "password": password}
            ).json()["access_token"]
            http.headers["Authorization"] = f"Bearer {token}"
            t = time.perf_counter()
            points = _seed(platform, http, devices, int(time.time() * 1000))
            seed_s = time.perf_counter() - t
            browser = pw.chromium.launch(
                executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
            )
            context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
            context.add_init_script(MARK_SCRIPT % orjson.dumps(MARKS).decode())
            page = context.new_page()
            page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
            page.on(
                "console",
                lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None,
            )
            page.on(
                "response",
                lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
            )
            page.goto(f"{base}/?lang=zh-CN#/signin")
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", password)
            page.click("#login-form button[type=submit]")
            page.wait_for_selector("#nav a")
            page.select_option("#tenant-switch", TENANT)
            page.wait_for_selector("[data-page=overview] h2")

            def cold(url: str, key: str) -> float:
                page.goto("about:blank")
                page.goto(url)
                return _mark(page, key)

            list_url = f"{base}/?lang=zh-CN&tenant={TENANT}#/devices"
            list_ms = [cold(list_url, "list") for _ in range(repeats)]
            status_ms = _mark(page, "list_status")
            total = page.locator("#device-total").inner_text()
            html = page.evaluate("document.documentElement.outerHTML")
            pages["list"] = "<!doctype html>\n" + re.sub(
                r"<script\b[^>]*>.*?</script>", "", html, flags=re.S
            )
            bare_ms = [cold(f"{base}/bench/list.html", "list") for _ in range(repeats)]

            def chart(range_: str) -> tuple[float, int]:
                page.goto(list_url)
                _mark(page, "list")
                ms = _in_app(page, f"#/devices/{CHARTED}?range={range_}", "chart")
                got = page.locator("[data-role=history-chart]").get_attribute("data-points")
                return ms, int(got or 0)

            day = [chart("24h") for _ in range(repeats)]
            year = [chart("1y") for _ in range(repeats)]

            page.goto(f"{base}/?lang=zh-CN&tenant={TENANT}#/dashboards/live12")
            grid_ms = _mark(page, "grid")
            page.wait_for_selector("#live-mark[data-state=open]", state="attached")
            feeder = _Feeder(httpx.Client(base_url=base, timeout=30, headers=http.headers), 0.1)
            feeder.start()
            try:
                page.wait_for_timeout(1000)
                live = page.evaluate(LIVE_SCRIPT, live_s * 1000)
            finally:
                feeder.stop.set()
                feeder.join(10)
            widgets = page.locator("[data-role=grid] [data-widget]").count()
            browser.close()
            http.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = statistics.median
    device_list = med(list_ms)
    bare = med(bare_ms)
    for e in errors[:20]:
        print(f"error: {e}", file=sys.stderr)
    report(
        "console: Chromium against a served platform",
        {
            "devices": devices,
            "points_written": points,
            "seed_s": round(seed_s, 1),
            "device_list_ms": round(device_list, 1),
            "device_list_status_ms": round(status_ms, 1),
            "bare_page_ms": round(bare, 1),
            "bare_page_bytes": len(pages["list"].encode()),
            "device_list_vs_bare": round(device_list / bare, 2),
            "chart_day_ms": round(med(ms for ms, _ in day), 1),
            "chart_day_points": day[-1][1],
            "chart_year_ms": round(med(ms for ms, _ in year), 1),
            "chart_year_points": year[-1][1],
            "dashboard_widgets": widgets,
            "dashboard_first_ms": round(grid_ms, 1),
            "dashboard_live_fps": round(live["frames"] / live["seconds"], 1),
            "dashboard_live_updates_per_s": round(live["changes"] / live["seconds"], 2),
            "live_points_per_s": round(feeder.sent / feeder.seconds, 1),
            "js_errors": len(errors),
        },
        {
            "device_list_ms": f"cold load of #/devices to its first rows ({total}), "
            f"median of {repeats} (target <= 1000)",
            "device_list_status_ms": "to the last row's online badge (50 /live calls)",
            "bare_page_ms": "baseline: static HTML of the rendered list, no scripts",
            "chart_day_ms": "24 h of a 1 Hz series drawn (5 min buckets), from the hash change "
            "(target <= 500)",
            "chart_year_ms": "1 year drawn (1 d buckets from roll-ups), from the hash change "
            "(target <= 1000)",
            "dashboard_live_fps": f"animation frames/s over {live_s:g} s of live updates "
            "(target >= 20)",
            "live_points_per_s": f"sent by HTTP ingest for {len(LIVE_DEVICES)} devices "
            "(a post every 0.1 s at most)",
            "dashboard_first_ms": "cold load of the 12-widget dashboard to its grid drawn",
            "dashboard_live_updates_per_s": "a value card's changes/s (the stream sends 4/s)",
            "js_errors": "page and console errors, 4xx/5xx answers (target 0)",
        },
    )
