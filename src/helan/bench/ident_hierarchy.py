"""ident-hierarchy: a root, a secondary, an enterprise node and a recursive resolver on loopback.

Each runs as its own ``helan ident serve`` process. The root admin delegates ``88.118`` to the
secondary and the secondary's admin ``88.118.100`` to the enterprise (REST), which then takes
``--ids`` identifiers in one streamed bulk request. The load generator keeps ``--window``
questions in flight at the resolver over UDP: first every identifier once (cold: not in the
resolver's cache, the delegation chain is, as in a resolver's steady state), then the same
identifiers again for ``--seconds`` (warm: answered from its cache).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Annotated

import httpx
import numpy as np
import orjson
import typer

from helan.ident.codes import ResponseCode
from helan.ident.model import SiteInfo
from helan.ident.rest.jsonvalues import site_to_json
from helan.ident.server.client import HandleClient, Target
from helan.observe.report import report

ENTERPRISE = "88.118.100"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(stack: ExitStack, role: str, secret: str, *args: str) -> None:
    argv = [sys.executable, "-m", "helan.ident.cli", "serve", "--role", role, *args]
    env = {**os.environ, "HELAN_IDENT_SECRET": secret}
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, env=env)  # noqa: S603
    stack.callback(proc.wait, 10)
    stack.callback(proc.terminate)
    assert proc.stderr is not None
    for line in proc.stderr:
        if " node on " in line:
            return
    raise RuntimeError(f"the {role} node did not start (exit {proc.wait(10)})")


def _auth(prefix: str, secret: str) -> tuple[str, str]:
    return (f"300:0.NA/{prefix}", secret)


def _delegation(port: int, prefix: str, secret: str) -> dict[str, object]:
    site = site_to_json(SiteInfo.single("127.0.0.1", port))
    admin = {"handle": f"0.NA/{prefix}", "index": 300, "permissions": "111111111111"}
    return {
        "values": [
            {"index": 1, "type": "HS_SITE", "data": {"format": "site", "value": site}},
            {"index": 100, "type": "HS_ADMIN", "data": {"format": "admin", "value": admin}},
            {"index": 300, "type": "HS_SECKEY", "data": secret, "permissions": "1100"},
        ]
    }


def _lines(ids: int) -> Iterator[bytes]:
    for i in range(ids):
        url = f"https://mes.factory.example/items/SN-{i:08d}"
        values = [{"index": 1, "type": "URL", "data": url, "ttl": 3600}]
        yield orjson.dumps({"handle": f"{ENTERPRISE}/SN-{i:08d}", "values": values}) + b"\n"


async def _drive(
    target: Target, handles: list[str], seconds: float | None, window: int
) -> tuple[int, float, list[float]]:
    """Ask ``handles`` in order (once, or round and round for ``seconds``) with ``window`` in
    flight; returns (answers, elapsed s, latencies s)."""
    client = HandleClient(timeout=2.0, tries=1)
    latencies: list[float] = []
    failures = 0
    position = 0
    start = time.perf_counter()

    async def worker() -> None:
        nonlocal position, failures
        while True:
            if seconds is None and position >= len(handles):
                return
            if seconds is not None and time.perf_counter() - start >= seconds:
                return
            handle = handles[position % len(handles)]
            position += 1
            t0 = time.perf_counter()
            reply = await client.resolve(target, handle)
            latencies.append(time.perf_counter() - t0)
            if reply.rc != ResponseCode.SUCCESS:
                failures += 1

    try:
        await asyncio.gather(*(worker() for _ in range(window)))
    finally:
        client.close()
    if failures:
        raise RuntimeError(f"{failures} resolutions did not succeed")
    return len(latencies), time.perf_counter() - start, latencies


def run(
    ids: Annotated[int, typer.Option(help="Identifiers at the enterprise node.")] = 200_000,
    seconds: Annotated[float, typer.Option(help="Seconds of warm resolution.")] = 10.0,
    window: Annotated[int, typer.Option(help="Questions in flight.")] = 64,
) -> None:
    """Cold and warm recursive resolution through root, secondary and enterprise nodes."""
    import tempfile

    data = tempfile.mkdtemp(prefix="helan-ident-hier-")
    ports = {role: (_port(), _port()) for role in ("root", "secondary", "enterprise")}
    resolver_port = _port()
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, data, True)
        for role, prefix in (("root", None), ("secondary", "88.118"), ("enterprise", ENTERPRISE)):
            port, rest_port = ports[role]
            args = ["--port", str(port), "--rest-port", str(rest_port), "--data-dir", data]
            args += ["--store", f"lmdb:{role}"] + (["--prefix", prefix] if prefix else [])
            _start(stack, role, f"{role}-secret", *args)
        _start(stack, "resolver", "", "--port", str(resolver_port), "--root",
               f"127.0.0.1:{ports['root'][0]}")  # fmt: skip
        rest = {role: f"http://127.0.0.1:{p[1]}" for role, p in ports.items()}
        with httpx.Client(timeout=600.0) as http:
            for parent, child, prefix in (
                ("root", "secondary", "88.118"),
                ("secondary", "enterprise", ENTERPRISE),
            ):
                auth = _auth("0.NA" if parent == "root" else "88.118", f"{parent}-secret")
                body = _delegation(ports[child][0], prefix, f"{child}-secret")
                r = http.put(f"{rest[parent]}/api/handles/0.NA/{prefix}", json=body, auth=auth)
                r.raise_for_status()
            t0 = time.perf_counter()
            r = http.post(
                f"{rest['enterprise']}/api/bulk",
                content=_lines(ids),
                auth=_auth(ENTERPRISE, "enterprise-secret"),
            )
            r.raise_for_status()
            loaded = time.perf_counter() - t0
            if r.json()["created"] != ids:
                raise RuntimeError(f"bulk load: {r.json()}")
        handles = [f"{ENTERPRISE}/SN-{i:08d}" for i in range(ids)]
        target = Target("127.0.0.1", resolver_port)
        cold_n, cold_s, cold_lat = asyncio.run(_drive(target, handles, None, window))
        warm_n, warm_s, warm_lat = asyncio.run(_drive(target, handles, seconds, window))
    figures = {
        "warm_per_s": round(warm_n / warm_s),
        "cold_per_s": round(cold_n / cold_s),
        "warm_p99_ms": round(float(np.percentile(np.array(warm_lat), 99)) * 1000, 3),
        "cold_p99_ms": round(float(np.percentile(np.array(cold_lat), 99)) * 1000, 3),
        "ids": ids,
        "window": window,
        "bulk_http_ids_per_s": round(ids / loaded),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    report(
        "ident-hierarchy",
        figures,
        {"cold_per_s": "handle not cached, delegations cached", "warm_per_s": "from cache"},
    )
