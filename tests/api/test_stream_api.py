"""The SSE stream through a real server (uvicorn on a port, httpx reading the stream as the
console's fetch() does): authentication, tenant scope, device filter, coalesced points, and
the server letting go of a client that went away."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from tests.conftest import free_port

from helan.admin.bootstrap import bootstrap_admin
from helan.api.app import create_app
from helan.config import Settings
from helan.platform import Platform

PASSWORD = "correct horse battery staple"


class Server:
    def __init__(self, base: str, platform: Platform, app: Any) -> None:
        self.base, self.platform, self.app = base, platform, app
        self.http = httpx.Client(base_url=base, timeout=10)
        self.auth: dict[str, dict[str, str]] = {}

    def login(self, user: str, password: str = PASSWORD) -> dict[str, str]:
        r = self.http.post("/api/v1/auth/token", json={"username": user, "password": password})
        assert r.status_code == 200, r.text
        self.auth[user] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        return self.auth[user]

    def ok(self, method: str, url: str, who: str, **kw: Any) -> Any:
        r = self.http.request(method, url, headers=self.auth[who], **kw)
        assert r.status_code < 300, f"{url}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def ingest(self, tenant: str, rows: list[dict[str, Any]]) -> None:
        self.ok("POST", f"/api/v1/tenants/{tenant}/ingest", "admin", json=rows)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    platform = Platform.build(Settings(data_dir=tmp_path_factory.mktemp("s") / "var"))
    password = bootstrap_admin(platform.meta)
    assert password is not None
    app = create_app(platform)
    port = free_port()
    srv = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    s = Server(f"http://127.0.0.1:{port}", platform, app)
    s.login("admin", password)
    for tenant in ("acme", "bolt"):
        s.ok("POST", "/api/v1/tenants", "admin", json={"id": tenant, "name": tenant})
        s.ok(
            "POST",
            f"/api/v1/tenants/{tenant}/users",
            "admin",
            json={"username": f"{tenant}-viewer", "password": PASSWORD, "role": "viewer"},
        )
        s.login(f"{tenant}-viewer")
        s.ok(
            "POST",
            f"/api/v1/tenants/{tenant}/device-types",
            "admin",
            json={"id": "pump", "name": "Pump", "properties": [{"name": "temp"}]},
        )
        for d in ("p1", "p2"):
            body = {"id": d, "name": d, "device_type": "pump"}
            s.ok("POST", f"/api/v1/tenants/{tenant}/devices", "admin", json=body)
    try:
        yield s
    finally:
        s.http.close()
        srv.should_exit = True
        thread.join(10)
        platform.telemetry.close()
        platform.meta.close()


class Events:
    """Read SSE events from an open streaming response in a thread."""

    def __init__(self, response: httpx.Response) -> None:
        self.items: list[tuple[str, Any]] = []
        self._response = response
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        event = None
        try:
            for line in self._response.iter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event is not None:
                    self.items.append((event, orjson.loads(line[6:])))
        except httpx.HTTPError:
            pass

    def wait(self, pred: Any, within: float = 10.0) -> tuple[str, Any]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for item in list(self.items):
                if pred(item):
                    return item
            time.sleep(0.02)
        raise AssertionError(f"no matching event in {self.items}")


def _now() -> int:
    return time.time_ns() // 1_000_000


def test_refusals(server: Server) -> None:
    url = "/api/v1/tenants/acme/stream"
    assert server.http.get(url).status_code == 401
    assert server.http.get(url, headers=server.auth["bolt-viewer"]).status_code == 404
    bad = server.http.get(url + "?devices=a/b", headers=server.auth["acme-viewer"])
    assert bad.status_code == 422
    many = ",".join(f"d{i}" for i in range(501))
    assert (
        server.http.get(f"{url}?devices={many}", headers=server.auth["acme-viewer"]).status_code
        == 422
    )


def test_points_arrive_coalesced_and_scoped(server: Server) -> None:
    server.ingest("acme", [{"device": "p1", "metric": "temp", "ts": _now() - 5000, "value": 1.0}])
    headers = server.auth["acme-viewer"]
    with (
        httpx.Client(base_url=server.base, timeout=30) as c1,
        httpx.Client(base_url=server.base, timeout=30) as c2,
        httpx.Client(base_url=server.base, timeout=30) as c3,
        c1.stream("GET", "/api/v1/tenants/acme/stream?heartbeat=1", headers=headers) as every,
        c2.stream("GET", "/api/v1/tenants/acme/stream?devices=p2", headers=headers) as only_p2,
        c3.stream("GET", "/api/v1/tenants/bolt/stream", headers=server.auth["bolt-viewer"]) as bolt,
    ):
        assert every.status_code == 200
        assert every.headers["content-type"].startswith("text/event-stream")
        a, f, b = Events(every), Events(only_p2), Events(bolt)
        snap = a.wait(lambda e: e[0] == "snapshot")[1]
        assert snap["devices"]["p1"]["values"]["temp"][1] == 1.0
        assert "p1" not in f.wait(lambda e: e[0] == "snapshot")[1]["devices"]
        b.wait(lambda e: e[0] == "hello")
        t0 = _now()
        for i in range(20):  # twenty commits in well under the flush interval of a slow tab
            server.ingest(
                "acme", [{"device": "p1", "metric": "temp", "ts": t0 + i, "value": float(i)}]
            )
        server.ingest("acme", [{"device": "p2", "metric": "temp", "ts": t0, "value": 7.0}])
        last = a.wait(
            lambda e: e[0] == "points" and e[1].get("p1", {}).get("temp", [0])[0] == t0 + 19
        )
        assert last[1]["p1"]["temp"][1] == 19.0
        f.wait(lambda e: e[0] == "points" and "p2" in e[1])
        frames = [e for e in a.items if e[0] == "points" and "p1" in e[1]]
        assert len(frames) <= 20
        beat = a.wait(lambda e: e[0] == "heartbeat")[1]
        assert set(beat) >= {"at", "coalesced", "dropped", "delivered"}
        time.sleep(0.5)
        assert not any(e[0] == "points" and "p1" in e[1] for e in f.items)  # filtered out
        assert not any(e[0] == "points" for e in b.items)  # another tenant's
    hub = server.app.state.platform.stream_hub
    deadline = time.monotonic() + 10
    while hub.clients() and time.monotonic() < deadline:  # noticed at the next write
        time.sleep(0.1)
    assert hub.clients() == 0
