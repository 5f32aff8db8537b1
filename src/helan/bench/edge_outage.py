"""``helan bench edge-outage``: the uplink broker is cut while a PLC produces 2,000 points/s,
the gateway is SIGKILLed and restarted in the middle of the cut, then the broker returns.

The PLC (pymodbus simulator) and the gateway (``helan edge``) run as their own processes; the
uplink is a private Mosquitto (persistence on, unlimited queue) stopped and started by the bench;
the platform's ingest (MQTT, persistent session, ack after commit → DuckDB) runs in this
process, so ``stored`` counts distinct points in the platform store. ``lost`` = produced −
stored − still buffered (rows left in the gateway's buffer when it stopped are sent on its next
start, so they are not lost); it must be 0. ``drain_s`` runs from the broker's return until the
backlog is gone (the buffer holds no more than a second of live data); ``peak_rss_bytes`` is the
gateway process's largest resident set over the run.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import psutil
import typer

from helan.bench.edge_modbus import _free_port, _wait_port
from helan.bench.edge_platform import BenchPlatform
from helan.observe.report import report
from helan.sim.plc.modbus import BANK_START
from helan.storage.telemetry.base import RawQuery

MOSQUITTO = "/usr/sbin/mosquitto"
CONFIG = """
[uplink]
url = "mqtt://127.0.0.1:{broker}"
tenant = "bench"
client_id = "bench-edge-outage"
reconnect_min_s = 1.0
reconnect_max_s = 2.0
backlog_window = 512

[buffer]
path = "{buffer}"
max_bytes = 1073741824

[[modbus]]
name = "plc"
host = "127.0.0.1"
port = {plc}
device = "bench-0"
poll_interval_s = {interval}
{points}
"""


class _Broker:
    def __init__(self, tmp: Path) -> None:
        self.port = _free_port()
        self.conf = tmp / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\nuser root\n"
            f"persistence_location {tmp}/\nmax_queued_messages 0\nmax_inflight_messages 0\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _wait_port(self.port)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()  # saves the persistent sessions
            self.proc.wait(10)
            self.proc = None


def _buffered_ts(path: Path) -> list[int]:
    with sqlite3.connect(path) as db:
        return [int(t) for (t,) in db.execute("SELECT ts FROM samples")]


def _buffer(path: Path) -> dict[str, int]:
    try:
        with sqlite3.connect(path) as db:
            rows = int(db.execute("SELECT COUNT(*) FROM samples").fetchone()[0])
            counters = dict(db.execute("SELECT name, value FROM counters").fetchall())
    except sqlite3.OperationalError:
        return {"rows": 0}
    return {"rows": rows, **counters}


class _Gateway:
    def __init__(self, config: Path, log: Path) -> None:
        self.config = config
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.peak_rss = 0

    def start(self) -> None:
        self.proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [sys.executable, "-m", "helan", "edge", "--config", str(self.config)],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )

    def sample(self) -> None:
        if self.proc is not None:
            try:
                rss = psutil.Process(self.proc.pid).memory_info().rss
            except psutil.Error:
                return
            self.peak_rss = max(self.peak_rss, rss)

    def end(self, sig: signal.Signals) -> None:
        if self.proc is not None:
            self.proc.send_signal(sig)
            self.proc.wait(30)
            self.proc = None


async def _wait(seconds: float, gateway: _Gateway) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        gateway.sample()
        await asyncio.sleep(min(0.25, max(0.0, deadline - time.monotonic())))


async def _measure(tmp: Path, outage_s: float, points: int, interval: float) -> dict[str, object]:
    plc_port = _free_port()
    plc = subprocess.Popen(  # noqa: S603, ASYNC220 - fixed argv; starts before the loop matters
        [sys.executable, "-m", "helan.sim.plc.modbus", str(plc_port), str(points)]
    )
    broker = _Broker(tmp)
    buffer = tmp / "buffer.sqlite3"
    metrics = [f"r{a}" for a in range(points)]
    point_defs = "".join(
        f'\n[[modbus.points]]\nmetric = "r{a}"\naddress = {BANK_START + a}\n' for a in range(points)
    )
    config = tmp / "edge.toml"
    config.write_text(
        CONFIG.format(
            broker=broker.port, buffer=buffer, plc=plc_port, interval=interval, points=point_defs
        )
    )
    gateway = _Gateway(config, tmp / "gateway.log")
    platform = BenchPlatform(tmp, f"mqtt://127.0.0.1:{broker.port}", "bench", {"bench-0": metrics})
    try:
        _wait_port(plc_port)
        broker.start()
        await platform.start()
        gateway.start()
        began = time.monotonic()
        await _wait(3.0, gateway)  # connected and flowing
        await platform.ingest.stop()  # its persistent session waits at the broker
        broker.stop()  # the uplink is cut
        await _wait(outage_s / 2, gateway)
        gateway.end(signal.SIGKILL)
        gateway.start()
        await _wait(outage_s / 2, gateway)
        broker.start()
        await platform.ingest.start()
        restored = time.monotonic()
        live_rows = max(2, int(1 / interval))
        while _buffer(buffer)["rows"] > live_rows:
            await _wait(0.25, gateway)
        drain_s = time.monotonic() - restored
        await _wait(1.0, gateway)
        gateway.end(signal.SIGTERM)
        left = _buffer(buffer)
        seen, quiet = platform.accepted(), 0
        while quiet < 4:  # until the last acknowledged messages have reached the store
            await asyncio.sleep(0.25)
            now = platform.accepted()
            quiet, seen = (quiet + 1, seen) if now == seen else (0, now)
        await platform.stop()
        stored = platform.stored()
        q = RawQuery(tenant="bench", device="bench-0", metric="r0", start_ms=0, end_ms=2**62)
        in_store = set(platform.store.raw(replace(q, limit=100_000))["ts"].to_pylist())
        unsent = sum(ts not in in_store for ts in _buffered_ts(buffer))
        run_s = time.monotonic() - began
    finally:
        gateway.end(signal.SIGKILL)
        broker.stop()
        plc.terminate()
        plc.wait(10)
        platform.close()
    produced = left.get("appended", 0) * points
    buffered = unsent * points
    return {
        "produced": produced,
        "stored": stored,
        "lost": produced - stored - buffered,
        "still_buffered": buffered,
        "points_per_s_produced": round(produced / run_s, 1),
        "drain_s": round(drain_s, 2),
        "peak_rss_bytes": gateway.peak_rss,
        "outage_s": outage_s,
        "points_per_s_polled_for": round(points / interval, 1),
        "dropped": left.get("dropped_full", 0) + left.get("dropped_age", 0),
    }


def run(
    outage_s: Annotated[float, typer.Option(help="Seconds the uplink is cut.")] = 600.0,
    points: Annotated[int, typer.Option(help="Registers read per poll.")] = 200,
    interval: Annotated[float, typer.Option(help="Poll interval, seconds.")] = 0.1,
) -> None:
    """Uplink cut, gateway SIGKILLed and restarted during the cut, uplink restored: lost = 0."""
    with tempfile.TemporaryDirectory(prefix="helan-bench-edge-outage-") as tmp:
        figures = asyncio.run(_measure(Path(tmp), outage_s, points, interval))
    notes = {
        "produced": "points read from the PLC into the gateway's buffer",
        "stored": "distinct points in the platform store",
        "lost": "produced - stored - still_buffered; must be 0",
        "still_buffered": "left in the gateway buffer, not yet in the store (sent on next start)",
        "points_per_s_produced": "what the gateway really read (the gateway restart is a gap)",
        "drain_s": "broker back -> backlog sent (live data flows meanwhile)",
        "peak_rss_bytes": "gateway process, over the whole run",
    }
    report(
        f"edge-outage: {points / interval:,.0f} points/s, uplink cut {outage_s:g} s", figures, notes
    )
