"""The console's routes as app/routes.js declares them (read from the file, so a new route is
seen at once), and a real object of the seeded world (tests/web/world.py) for each route's
parameters: what the every-page test and the screenshots open."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from playwright.sync_api import Request, Response
from tests.web.browser import Tab
from tests.web.world import Served

from helan.rules.contracts import ConditionChange, Severity

STATIC = Path(str(resources.files("helan.web").joinpath("static/app")))
ROUTE = re.compile(r'\{\s*pattern:\s*"([^"]*)",\s*page:\s*"([a-z_]+)"(?:[^}]*need:\s*"(\w+)")?')
T = "/api/v1/tenants/acme"
LANGS = ("zh-CN", "en")
Params = dict[str, dict[str, str]]
# A route's parameters in the seeded world; seed_objects adds those made at run time.
PARAMS: Params = {
    "devices/:id": {"id": "press-1"},
    "alarms/:id": {},
    "dashboards/shared/:token": {},
    "dashboards/:id": {"id": "line"},
    "dashboards/:id/edit": {"id": "line"},
    "device-types/:id": {"id": "press"},
    "rules/:id": {"id": "hot"},
    "apps/:page": {"page": "data-quality"},
    "security/advisories/:id": {"id": "ICSA-24-256-13"},
}
CSAF = Path(__file__).parents[2] / "data" / "csaf" / "icsa-24-256-13.json"
HOT = {
    "id": "hot",
    "name": "温度过高 hot",
    "target": {"device_type": "press"},
    "condition": {"kind": "threshold", "metric": "temp", "op": ">", "value": 85},
    "severity": "high",
    "message": "temp {temp} °C",
}


@dataclass(frozen=True)
class Route:
    pattern: str
    page: str
    need: str  # "" (every member), "write" or "admin"

    @property
    def name(self) -> str:
        """A file-name-safe name: devices/:id -> devices-id, the home route -> home."""
        return self.pattern.replace("/", "-").replace(":", "") or "home"

    def hash(self, params: Params) -> str:
        values = params.get(self.pattern, {})
        parts = []
        for part in self.pattern.split("/"):
            if part.startswith(":"):
                assert values.get(part[1:]), f"no value for {part} of route {self.pattern!r}"
                parts.append(values[part[1:]])
            else:
                parts.append(part)
        return "/".join(parts)

    def written(self) -> bool:
        return (STATIC / "pages" / f"{self.page}.js").is_file()


def routes() -> list[Route]:
    text = (STATIC / "routes.js").read_text("utf-8")
    block = text[text.index("export const ROUTES") : text.index("];")]
    found = [Route(p, page, need) for p, page, need in ROUTE.findall(block)]
    assert len(found) == block.count("pattern:"), "a route routes.js declares was not parsed"
    return found


def seed_objects(s: Served) -> Params:
    """On top of seed(): a rule with an open alarm, a share link of the dashboard, the data
    quality app installed, a CISA advisory imported; every route's parameters."""
    s.call("POST", f"{T}/rules", json=HOT)
    change = ConditionChange(
        tenant="acme",
        rule_id="hot",
        rule_version=1,
        device="press-1",
        active=True,
        ts_ms=int(time.time() * 1000),
        severity=Severity.HIGH,
        message="temp 91.5 °C",
        values={"temp": 91.5},
    )
    s.platform.alarms.apply([change])
    assert s.platform.apps is not None
    s.platform.apps.installs.install("acme", "data_quality")  # its page: apps/data-quality
    s.call("POST", "/api/v1/security/advisories", content=CSAF.read_bytes())
    params = {k: dict(v) for k, v in PARAMS.items()}
    params["alarms/:id"]["id"] = str(s.call("GET", f"{T}/alarms?open=true")["items"][0]["id"])
    token = s.call("POST", f"{T}/dashboards/line/share")["token"]
    params["dashboards/shared/:token"]["token"] = token
    return params


@dataclass
class Watched:
    """A signed-in tab and what went wrong on it since the last page was opened."""

    tab: Tab
    params: Params
    failed: list[str] = field(default_factory=list)
    pending: set[Request] = field(default_factory=set)

    def open(self, route: Route, lang: str) -> None:
        page = self.tab.page
        page.goto("about:blank")
        self.tab.errors.clear()
        self.failed.clear()
        self.pending.clear()
        page.goto(f"{self.tab.base}/?lang={lang}#/{route.hash(self.params)}")

    def settle(self, quiet_s: float = 0.25, limit_s: float = 15) -> None:
        """Wait until no request (other than the live stream) has been in flight for quiet_s."""
        deadline = time.monotonic() + limit_s
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            self.tab.page.wait_for_timeout(50)
            if self.pending:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= quiet_s:
                return
        raise AssertionError(f"requests still in flight: {[r.url for r in self.pending]}")


def watch(tab: Tab, params: Params) -> Watched:
    """Record on the tab every failed request and every request in flight."""
    w = Watched(tab, params)
    page = tab.page

    def started(r: Request) -> None:
        if not r.url.split("?")[0].endswith("/stream"):
            w.pending.add(r)

    def done(r: Request) -> None:
        w.pending.discard(r)

    def failed(r: Request) -> None:
        w.pending.discard(r)
        if r.failure != "net::ERR_ABORTED":  # the page's own abort, e.g. a superseded query
            w.failed.append(f"{r.method} {r.url}: {r.failure}")

    def answered(r: Response) -> None:
        if r.status >= 400:
            w.failed.append(f"{r.request.method} {r.url}: {r.status}")

    page.on("request", started)
    page.on("requestfinished", done)
    page.on("requestfailed", failed)
    page.on("response", answered)
    return w
