"""A served platform with a small world in it, for the console's browser tests and screenshots:
the real app on a real port (uvicorn in a thread), two tenants, users of each role, a device
type with a thing model, an asset tree, devices (some named to attack the page), a day of
telemetry at one-minute and a year at one-hour resolution, events, a dashboard and a report."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from tests.conftest import free_port

from helan.admin.bootstrap import bootstrap_admin
from helan.api.app import create_app
from helan.config import Settings
from helan.core.events import EventRow
from helan.platform import Platform
from helan.storage.meta.events import EventStore
from helan.web.routes import router as web_router

PASSWORD = "correct horse battery staple"
XSS_NAME = '"><img src=x onerror=alert(1)><script>window.__pwned=1</script>'
RTL_NAME = "\u202eevil\u202c \u200bzero\u200dwidth \u05e9\u05dc\u05d5\u05dd"
CHINESE = "一号冲压机"


@dataclass
class Served:
    base: str
    platform: Platform
    admin_password: str
    http: httpx.Client = field(init=False)
    tokens: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base, timeout=30)

    def login(self, user: str, password: str = PASSWORD) -> dict[str, str]:
        r = self.http.post("/api/v1/auth/token", json={"username": user, "password": password})
        assert r.status_code == 200, r.text
        self.tokens[user] = r.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def call(self, method: str, url: str, who: str = "admin", **kw: Any) -> Any:
        r = self.http.request(
            method, url, headers={"Authorization": f"Bearer {self.tokens[who]}"}, **kw
        )
        assert r.status_code < 300, f"{method} {url}: {r.status_code} {r.text}"
        return r.json() if r.content else None


@contextmanager
def serve(data_dir: Path) -> Iterator[Served]:
    platform = Platform.build(Settings(data_dir=data_dir))
    password = bootstrap_admin(platform.meta)
    assert password is not None
    app = create_app(platform)
    app.include_router(web_router)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    served = Served(f"http://127.0.0.1:{port}", platform, password)
    try:
        deadline = time.monotonic() + 20
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started
        served.login("admin", password)
        yield served
    finally:
        served.http.close()
        server.should_exit = True
        thread.join(10)
        platform.telemetry.close()
        platform.meta.close()


THING = {
    "id": "press",
    "name": "冲压机 Press",
    "properties": [
        {"name": "temp", "type": "float", "unit": "°C", "min": -20, "max": 200},
        {"name": "pressure", "type": "float", "unit": "bar", "min": 0, "max": 400},
        {"name": "running", "type": "bool"},
    ],
    "events": [{"name": "jam", "level": "fault"}, {"name": "door_open", "level": "warning"}],
    "services": [
        {"name": "reset", "inputs": [{"name": "level", "type": "int", "min": 0, "max": 3}]},
    ],
}


def seed(s: Served, *, year: bool = True) -> None:
    """The world the console tests read (tenant ``acme``; ``bolt`` to switch to)."""
    for tenant in ("acme", "bolt"):
        s.call("POST", "/api/v1/tenants", json={"id": tenant, "name": f"{tenant} 工厂"})
    t = "/api/v1/tenants/acme"
    for user, role in (
        ("acme-admin", "tenant_admin"),
        ("acme-op", "operator"),
        ("acme-viewer", "viewer"),
    ):
        s.call("POST", f"{t}/users", json={"username": user, "password": PASSWORD, "role": role})
    s.call("POST", f"{t}/device-types", json=THING)
    s.call("POST", f"{t}/assets", json={"id": "site-1", "name": "一厂", "kind": "site"})
    s.call(
        "POST",
        f"{t}/assets",
        json={"id": "line-1", "name": "冲压线", "kind": "line", "parent": "site-1"},
    )
    devices = [
        {"id": "press-1", "name": CHINESE, "attributes": {"note": XSS_NAME, "rtl": RTL_NAME}},
        {"id": "press-2", "name": XSS_NAME},
        {"id": "press-3", "name": RTL_NAME},
    ]
    for d in devices:
        s.call(
            "POST",
            f"{t}/devices",
            json={
                **d,
                "device_type": "press",
                "asset": "line-1",
                "identifier": f"88.118.100/{d['id']}",
            },
        )
    s.call("POST", "/api/v1/tenants/bolt/devices", json={"id": "oven-1", "name": "oven"})
    now = int(time.time() * 1000)
    rows: list[dict[str, Any]] = []
    for i in range(24 * 60, -1, -1):  # a day, one minute apart
        ts = now - i * 60_000
        for device in ("press-1", "press-2"):
            rows.append({"device": device, "metric": "temp", "ts": ts, "value": 60 + (i % 30)})
            rows.append({"device": device, "metric": "pressure", "ts": ts, "value": 200 + (i % 17)})
    if year:
        for i in range(365 * 24, 24, -1):  # a year before that, one hour apart
            rows.append(
                {
                    "device": "press-1",
                    "metric": "temp",
                    "ts": now - i * 3_600_000,
                    "value": 50 + (i % 40),
                }
            )
    for start in range(0, len(rows), 5000):
        s.call("POST", f"{t}/ingest", json=rows[start : start + 5000])
    events = [
        EventRow("acme", "press-1", now - 60_000, "jam", "fault", {"text": XSS_NAME}),
        EventRow("acme", "press-1", now - 120_000, "door_open", "warning", {"text": RTL_NAME}),
        EventRow("acme", "press-2", now - 180_000, "jam", "fault", {"text": "卡料"}),
    ]
    EventStore(s.platform.meta).write(events)
    spec = {
        "columns": 12,
        "widgets": [
            {
                "id": "ts",
                "type": "timeseries",
                "title": "温度 temp",
                "x": 0,
                "y": 0,
                "w": 6,
                "h": 4,
                "config": {
                    "series": [
                        {"device": "press-1", "metric": "temp"},
                        {"device": "press-2", "metric": "temp"},
                    ],
                    "range": "24h",
                },
            },
            {
                "id": "g",
                "type": "gauge",
                "title": "压力",
                "x": 6,
                "y": 0,
                "w": 3,
                "h": 4,
                "config": {"device": "press-1", "metric": "pressure", "min": 0, "max": 400},
            },
            {
                "id": "v",
                "type": "value",
                "title": XSS_NAME,
                "x": 9,
                "y": 0,
                "w": 3,
                "h": 2,
                "config": {"device": "press-1", "metric": "temp", "unit": "°C"},
            },
            {
                "id": "txt",
                "type": "text",
                "title": "说明",
                "x": 9,
                "y": 2,
                "w": 3,
                "h": 2,
                "config": {"text": XSS_NAME},
            },
            {
                "id": "b",
                "type": "bar",
                "title": "bar",
                "x": 0,
                "y": 4,
                "w": 4,
                "h": 4,
                "config": {
                    "series": [
                        {"device": "press-1", "metric": "temp"},
                        {"device": "press-2", "metric": "temp"},
                    ]
                },
            },
            {
                "id": "tb",
                "type": "table",
                "title": "table",
                "x": 4,
                "y": 4,
                "w": 4,
                "h": 4,
                "config": {
                    "series": [{"device": "press-1", "metric": "temp"}],
                    "range": "1h",
                    "mode": "latest",
                },
            },
            {
                "id": "st",
                "type": "state_timeline",
                "title": "state",
                "x": 8,
                "y": 4,
                "w": 4,
                "h": 2,
                "config": {
                    "series": [{"device": "press-1", "metric": "temp"}],
                    "range": "1h",
                    "states": {"60": "hot"},
                },
            },
            {
                "id": "al",
                "type": "alarm_list",
                "title": "alarms",
                "x": 8,
                "y": 6,
                "w": 4,
                "h": 2,
                "config": {"severities": [], "devices": [], "limit": 10},
            },
        ],
    }
    s.call("POST", f"{t}/dashboards", json={"id": "line", "title": "冲压线看板", "spec": spec})
    s.call(
        "POST",
        f"{t}/reports",
        json={
            "id": "daily",
            "title_zh": "日报",
            "title_en": "Daily",
            "source": {"series": [{"device": "press-1", "metric": "temp"}]},
        },
    )
