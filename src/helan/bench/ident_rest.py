"""ident-rest: ``GET /api/handles/{handle}`` of one enterprise node under wrk.

The node's REST app (Starlette on uvicorn with uvloop and httptools, as ``helan ident serve
--rest-port`` runs it) serves an LMDB store of ``--ids`` records from its own process; wrk asks
for random handles among them. In the same run and the same server process, a bare Starlette
endpoint answering a constant JSON body of the same size is the baseline. The store is premapped
first (see ``ident_udp.premap``; ``--cold`` measures a just-started node instead).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import httpx
import psutil
import typer

from helan.bench.ident_register import PREFIX, records
from helan.bench.ident_udp import premap
from helan.observe.report import report

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
_SCRIPT = """
math.randomseed(os.time())
request = function()
  return wrk.format("GET", string.format("{path}", math.random(0, {last})))
end
"""


def _serve(path: str, port: int, warm: bool) -> None:
    """Server process body: the node's REST app plus the bare baseline route."""
    import uvicorn
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from helan.ident.registry import Registry
    from helan.ident.rest.app import create_app
    from helan.ident.store.lmdb import LmdbStore

    registry = Registry(LmdbStore(Path(path)), homed=[PREFIX])
    if warm and not premap(Path(path) / "data.mdb"):
        raise RuntimeError("cannot premap the store (Linux 5.14+ only): use --cold")
    sample = registry.store.get(f"{PREFIX}/SN-{0:010d}".upper().encode())
    body = b'{"responseCode":1,"handle":"x","values":[' + b"0" * (len(sample or b"") + 120) + b"]}"

    async def bare(request: Request) -> Response:
        return Response(body, media_type="application/json")

    app = create_app(registry, extra_routes=[Route("/bare/{n}", bare)])
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
        lifespan="off",
    )


def _wrk(
    wrk: str, url: str, path_format: str, ids: int, seconds: float, connections: int
) -> tuple[float, float]:
    """(requests/s, p99 ms) of one wrk run; fails loudly on errors or odd output."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_SCRIPT.replace("{path}", path_format).replace("{last}", str(ids - 1)))
    try:
        out = subprocess.run(  # noqa: S603 - arguments are ours
            [
                wrk,
                "-t1",
                f"-c{connections}",
                f"-d{seconds:g}s",
                "--latency",
                "-s",
                script.name,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        ).stdout
    finally:
        os.unlink(script.name)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    if rate is None or p99 is None:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw failed requests:\n{out}")
    return float(rate.group(1)), float(p99.group(1)) * _UNITS[p99.group(2)]


def run(
    ids: Annotated[int, typer.Option(help="Records in the node's store.")] = 1_000_000,
    seconds: Annotated[float, typer.Option(help="Seconds per wrk run.")] = 10.0,
    connections: Annotated[int, typer.Option(help="wrk connections.")] = 64,
    port: Annotated[int, typer.Option(help="Server port.")] = 28411,
    cold: Annotated[
        bool, typer.Option(help="Measure a just-started node: store pages not yet mapped.")
    ] = False,
) -> None:
    """Throughput and p99 latency of REST resolution, with an in-run bare-endpoint baseline."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise typer.BadParameter("wrk is not installed: run `apt-get install -y wrk` first")
    base = Path(tempfile.mkdtemp(prefix="helan-ident-rest-"))
    path = base / "bench.lmdb"
    from helan.ident.store.lmdb import LmdbStore

    store = LmdbStore(path, sync=False)
    store.put_many(records(ids))
    store.sync()
    store.close()
    code = (
        "import sys; from helan.bench.ident_rest import _serve; "
        "_serve(sys.argv[1], int(sys.argv[2]), sys.argv[3] == '1')"
    )
    argv = [sys.executable, "-c", code, str(path), str(port), str(int(not cold))]
    proc = subprocess.Popen(argv)  # noqa: S603
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/api/handles/{PREFIX}/SN-{0:010d}").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the REST server did not start")
            time.sleep(0.2)
        server = psutil.Process(proc.pid)
        cpu = sum(server.cpu_times()[:2])
        rps, p99 = _wrk(wrk, url, f"/api/handles/{PREFIX}/SN-%010d", ids, seconds, connections)
        cpu_us = (sum(server.cpu_times()[:2]) - cpu) / (rps * seconds) * 1e6
        cpu = sum(server.cpu_times()[:2])
        base_rps, base_p99 = _wrk(wrk, url, "/bare/%d", ids, seconds, connections)
        base_cpu_us = (sum(server.cpu_times()[:2]) - cpu) / (base_rps * seconds) * 1e6
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(base, ignore_errors=True)
    figures = {
        "requests_per_s": round(rps),
        "p99_ms": round(p99, 3),
        "server_cpu_us": round(cpu_us, 1),
        "baseline_per_s": round(base_rps),
        "baseline_p99_ms": round(base_p99, 3),
        "baseline_cpu_us": round(base_cpu_us, 1),
        "baseline_ratio": round(rps / base_rps, 3),
        "ids": ids,
        "connections": connections,
        "server": "uvicorn+uvloop+httptools, 1 process",
        "store_map": "cold" if cold else "premapped",
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    notes = {"baseline_ratio": "target >= 0.7", "server_cpu_us": "server CPU time per request"}
    report("ident-rest", figures, notes)
