"""The latency and delivery half of ``helan bench rules`` (see :mod:`helan.bench.rules`):
``helan run`` in a child process, SIGKILLed and started again halfway, a webhook receiver here
that fails 30 % of the requests, trigger points over the HTTP device endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from helan.config import Settings
from helan.connect.nats.server import free_port

WEBHOOK_SECRET = "bench-rules-webhook-secret"  # noqa: S105 - a loopback test receiver's
FAIL_RATIO = 0.3


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class _Receiver:
    """A webhook receiver on loopback that fails ``fail_ratio`` of the requests (500) at
    random, checks every signature, and keeps when it first accepted each key."""

    fail_ratio: float
    seed: int = 8
    port: int = field(default_factory=lambda: free_port("127.0.0.1"))
    accepted: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    requests: int = 0
    failed: int = 0
    duplicates: int = 0
    bad_signatures: int = 0

    async def start(self) -> None:
        import uvicorn
        from starlette.applications import Starlette
        from starlette.routing import Route

        self._rng = random.Random(self.seed)
        app = Starlette(routes=[Route("/hook", self._handle, methods=["POST"])])
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)

    async def _handle(self, request: Any) -> Any:
        from starlette.responses import Response

        from helan.rules.notify.channels.webhook import verify

        raw = await request.body()
        self.requests += 1
        if not verify(WEBHOOK_SECRET, raw, request.headers.get("x-helan-signature", "")):
            self.bad_signatures += 1
            return Response("bad signature", status_code=401)
        if self._rng.random() < self.fail_ratio:
            self.failed += 1
            return Response("try later", status_code=500)
        key = request.headers.get("idempotency-key", "")
        if key in self.accepted:
            self.duplicates += 1
        else:
            self.accepted[key] = (_now_ms(), orjson.loads(raw))
        return Response(status_code=204)

    async def stop(self) -> None:
        self._server.should_exit = True
        await self._task


class _Child:
    """``helan run`` on one data directory, started again after a SIGKILL."""

    def __init__(self, data: Path) -> None:
        self.http_port = free_port("127.0.0.1")
        self.env = {
            **os.environ,
            "HELAN_DATA_DIR": str(data),
            "HELAN_HTTP_HOST": "127.0.0.1",
            "HELAN_HTTP_PORT": str(self.http_port),
            "HELAN_MQTT_URL": "",
            "HELAN_MQTT_EMBEDDED_PORT": str(free_port("127.0.0.1")),
            "HELAN_IDENT_PORT": "0",
            "HELAN_STREAM_URL": "",
            "HELAN_DATABASE_URL": "",
            "HELAN_TELEMETRY_URL": "duckdb",
        }
        self.log = data.parent / "helan-run.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = f"http://127.0.0.1:{self.http_port}"

    def configure(self, receiver_port: int) -> None:
        self.env |= {
            "HELAN_NOTIFY_ALLOWED_HOSTS": f"127.0.0.1:{receiver_port}",
            "HELAN_NOTIFY_BACKOFF_MIN_S": "0.05",
            "HELAN_NOTIFY_BACKOFF_MAX_S": "0.5",
            "HELAN_NOTIFY_POLL_S": "0.05",
            "HELAN_NOTIFY_LEASE_S": "2",
            "HELAN_NOTIFY_TIMEOUT_S": "2",
        }

    def admin(self, *args: str) -> None:
        subprocess.run(  # noqa: S603 - this interpreter, our own arguments
            [sys.executable, "-m", "helan", "admin", *args],
            env=self.env,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    async def start(self) -> float:
        """Start it and wait until it serves HTTP; the seconds that took."""
        began = time.perf_counter()
        self.proc = await asyncio.to_thread(self._spawn)
        async with httpx.AsyncClient(base_url=self.base, timeout=1) as http:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"helan run exited with {self.proc.returncode}: {self.log}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get("/readyz")).status_code == 200:
                        break
                if time.perf_counter() - began > 90:
                    raise RuntimeError(f"helan run did not become ready: {self.log}")
                await asyncio.sleep(0.1)
        return time.perf_counter() - began

    def _spawn(self) -> subprocess.Popen[bytes]:
        with open(self.log, "ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "helan", "run"],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


async def _provision(child: _Child, tenant: str, receiver: _Receiver) -> tuple[str, str]:
    """Device type, device, webhook channel and rule over the REST API: the device's login."""
    password = (Path(child.env["HELAN_DATA_DIR"]) / "admin-password.txt").read_text().strip()
    async with httpx.AsyncClient(base_url=child.base, timeout=10) as api:
        r = await api.post("/api/v1/auth/token", data={"username": "admin", "password": password})
        r.raise_for_status()
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        base = f"/api/v1/tenants/{tenant}"
        pump = {"id": "pump", "name": "Pump", "properties": [{"name": "pressure", "type": "float"}]}
        for path, body in (
            ("/device-types", pump),
            ("/devices", {"id": "pump-1", "name": "Pump 1", "device_type": "pump"}),
            (
                "/notification-channels",
                {
                    "id": "hook",
                    "name": "Bench webhook",
                    "kind": "webhook",
                    "config": {
                        "url": f"http://127.0.0.1:{receiver.port}/hook",
                        "secret": WEBHOOK_SECRET,
                    },
                },
            ),
            (
                "/rules",
                {
                    "id": "high-pressure",
                    "name": "High pressure",
                    "target": {"device": "pump-1"},
                    "condition": {
                        "kind": "threshold",
                        "metric": "pressure",
                        "op": ">",
                        "value": 50,
                    },
                    "severity": "high",
                    "notify": {"raised": ["hook"], "cleared": ["hook"]},
                },
            ),
        ):
            r = await api.post(base + path, json=body, headers=auth)
            if r.status_code != 201:
                raise RuntimeError(f"provisioning {path}: {r.status_code} {r.text}")
            if path == "/devices":
                secret = str(r.json()["password"])
    return f"pump-1@{tenant}", secret


@dataclass
class _Trigger:
    ts: int
    raise_: bool
    answered_ms: int = 0


@dataclass
class Latency:
    alarms: int
    latencies: list[float] = field(default_factory=list)
    sent: int = 0
    lost: int = 0
    duplicates: int = 0
    requests: int = 0
    failed: int = 0
    bad_signatures: int = 0
    replayed: int = 0
    restart_s: float = 0.0
    dead: int = 0


async def _send(
    http: httpx.AsyncClient, child: _Child, login: tuple[str, str], trig: _Trigger
) -> None:
    """Post one point until the platform answers 200 (after its commit); through a restart."""
    body = orjson.dumps({"ts": trig.ts, "values": {"pressure": 100.0 if trig.raise_ else 0.0}})
    while True:
        try:
            r = await http.post(
                child.base + "/api/v1/devices/me/telemetry",
                content=body,
                auth=login,
                headers={"content-type": "application/json"},
            )
            if r.status_code == 200:
                trig.answered_ms = _now_ms()
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.05)


async def _until(done: Callable[[], bool], within_s: float) -> bool:
    deadline = time.perf_counter() + within_s
    while not done():
        if time.perf_counter() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def _outbox(data: Path) -> tuple[dict[tuple[str, int], int], int]:
    """(kind, ts_ms) -> committed_ms of each notice row in the child's outbox; dead rows."""
    import sqlalchemy as sa

    from helan.storage.meta import MetaStore
    from helan.storage.meta.models_notify import NotificationDelivery as D

    meta = MetaStore(Settings(data_dir=data).metadata_url)
    try:
        with meta.session() as s:
            rows = s.execute(sa.select(D.notice, D.committed_ms, D.status)).all()
    finally:
        meta.close()
    found = {(str(n.get("kind")), int(n.get("ts_ms", 0))): c for n, c, _ in rows}
    return found, sum(1 for *_, status in rows if status == "dead")


async def measure_latency(alarms: int, interval_s: float, wait_s: float, tmp: Path) -> Latency:
    tenant = "bench"
    data = tmp / "platform" / "var"
    data.mkdir(parents=True)
    receiver = _Receiver(FAIL_RATIO)
    await receiver.start()
    child = _Child(data)
    child.configure(receiver.port)
    out = Latency(alarms)
    try:
        await asyncio.to_thread(child.admin, "create-tenant", tenant, "Bench")
        await child.start()
        login = await _provision(child, tenant, receiver)
        triggers: list[_Trigger] = []
        async with httpx.AsyncClient(timeout=5) as http:

            async def point(raise_: bool) -> _Trigger:
                ts = max(_now_ms(), triggers[-1].ts + 1 if triggers else 0)
                trig = _Trigger(ts, raise_)
                triggers.append(trig)
                await _send(http, child, login, trig)
                return trig

            # Warm-up: the engine loads the new rule within its reload period.
            while True:
                warm = await point(True)
                if await _until(functools.partial(_got, receiver, "raised", warm.ts), 3):
                    break
            await point(False)
            measured_from = len(triggers)
            for n in range(alarms):
                await point(True)
                await asyncio.sleep(interval_s)
                await point(False)
                await asyncio.sleep(interval_s)
                if n == alarms // 2:
                    began = time.perf_counter()
                    await asyncio.to_thread(child.kill)
                    await child.start()
                    out.restart_s = time.perf_counter() - began
        measured = triggers[measured_from:]
        await _until(lambda: all(_got(receiver, _kind(t), t.ts) for t in measured), wait_s)
    finally:
        child.stop()
        await receiver.stop()
    committed, out.dead = await asyncio.to_thread(_outbox, data)
    received = {
        (str(b.get("kind")), int(b.get("ts_ms", 0))): at for at, b in receiver.accepted.values()
    }
    for t in measured:
        at = received.get((_kind(t), t.ts))
        if at is None:
            out.lost += 1
            continue
        if not t.raise_:
            continue
        commit = committed.get(("raised", t.ts), 0)
        if not t.ts <= commit <= t.answered_ms:  # replayed after the restart: not known
            out.replayed += 1
            commit = t.answered_ms
        out.latencies.append(at - commit)
    out.sent = len(receiver.accepted)
    out.duplicates = receiver.duplicates
    out.requests, out.failed = receiver.requests, receiver.failed
    out.bad_signatures = receiver.bad_signatures
    return out


def _kind(t: _Trigger) -> str:
    return "raised" if t.raise_ else "cleared"


def _got(receiver: _Receiver, kind: str, ts: int) -> bool:
    return any(
        b.get("kind") == kind and b.get("ts_ms") == ts for _, b in receiver.accepted.values()
    )
