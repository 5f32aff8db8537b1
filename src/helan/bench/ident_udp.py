"""ident-udp: resolution over the Handle UDP protocol against one enterprise node process.

The node (LMDB, N records) and, in the same run, a bare uvloop UDP server answering from a dict
each run in their own process and are measured in turn for ``--rounds`` rounds (medians
reported). ``--clients`` load-generator processes, each with pre-encoded requests, keep a window
of requests in flight for ``--seconds`` (throughput), then send at half that rate together
(latency percentiles). The node's store is premapped first (``premap``) so that the run
measures a node in service, not one paying a page fault per lookup; ``--cold`` measures the
latter.
"""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Annotated, cast

import numpy as np
import psutil
import typer

from helan.bench.ident_register import PREFIX, records
from helan.ident.codes import OpCode
from helan.ident.wire import messages as m
from helan.observe.report import report

WINDOW = 128
REQUESTS = 1 << 19  # distinct questions per client; a longer run cycles through them again


_MADV_POPULATE_READ = 22  # Linux 5.14+


def premap(data_file: Path) -> bool:
    """Map every page of ``data_file`` that this process has mapped (LMDB's read-only map) into
    its page tables, as a node that has served for a while has them; a just-started process
    otherwise pays a page fault on nearly every lookup of a random handle (5-13 us here).
    False where the kernel or platform cannot (the run then measures a cold map)."""
    real = str(data_file.resolve())
    size = data_file.stat().st_size
    libc = ctypes.CDLL(None, use_errno=True)
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    done = False
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            if len(fields) >= 6 and fields[5] == real:
                low, high = (int(x, 16) for x in fields[0].split("-"))
                done = libc.madvise(low, min(high - low, size), _MADV_POPULATE_READ) == 0
    return done


def _serve(kind: str, path: str, port: int, ids: int, warm: int) -> None:
    """Server process body: the real node, or the dict baseline."""
    import uvloop

    async def main() -> None:
        loop = asyncio.get_running_loop()
        if kind == "node":
            from helan.ident.node import Node, Role
            from helan.ident.server.listeners import Listener
            from helan.ident.store.lmdb import LmdbStore

            node = Node(LmdbStore(Path(path)), role=Role.ENTERPRISE, homed=[PREFIX])
            if warm and not premap(Path(path) / "data.mdb"):
                raise RuntimeError("cannot premap the store (Linux 5.14+ only): use --cold")
            await Listener("127.0.0.1", port, sync=node.respond).start()
        else:
            table = dict(records(min(ids, 1_000_000)))
            head = m.HEADER

            class Bare(asyncio.DatagramProtocol):
                def connection_made(self, transport: asyncio.BaseTransport) -> None:
                    self.t = cast(asyncio.DatagramTransport, transport)

                def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                    n = int.from_bytes(data[44:48], "big")
                    record = table.get(data[48 : 48 + n].upper(), b"")
                    body = head.pack(1, 1, 0, 0, 0, 0, 0, len(record))
                    self.t.sendto(
                        data[:16]
                        + (len(body) + len(record) + 4).to_bytes(4, "big")
                        + body
                        + record
                        + bytes(4),
                        addr,
                    )

            await loop.create_datagram_endpoint(Bare, local_addr=("127.0.0.1", port))
        print("ready", flush=True)
        await asyncio.Event().wait()

    uvloop.run(main())


def _requests(ids: int, count: int) -> list[bytes]:
    """``count`` resolution requests for random handles, request id = position. One request is
    encoded and the others are spliced from it (fixed-width suffixes): cheap enough to give each
    client as many distinct questions as it sends, so the node's answer cache rarely hits."""
    digits = 10
    sample = m.encode(
        m.Message(
            opcode=OpCode.RESOLUTION,
            rc=0,
            body=m.ResolutionRequest(f"{PREFIX}/SN-{0:0{digits}d}".encode()),
            request_id=0,
        )
    )
    at = sample.index(b"/SN-") + 4
    head, middle, tail = sample[:8], sample[12:at], sample[at + digits :]
    return [
        b"".join((head, rid.to_bytes(4, "big"), middle, b"%010d" % random.randrange(ids), tail))
        for rid in range(count)
    ]


async def _saturate(port: int, reqs: list[bytes], seconds: float) -> int:
    """A closed window of ``WINDOW`` requests: each answer sends the next one. Only request ids
    and a coarse tick are kept per request (no clock reads), so the generator stays cheap."""
    loop = asyncio.get_running_loop()
    size = len(reqs)
    sent: dict[int, int] = {}
    tick = 0
    done = 0
    next_i = 0

    def send() -> None:
        nonlocal next_i
        slot = next_i % size
        sent[slot] = tick
        next_i += 1
        transport.sendto(reqs[slot])

    class Proto(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: object) -> None:
            nonlocal done
            if sent.pop(int.from_bytes(data[8:12], "big"), None) is not None:
                done += 1
                send()

    transport, _ = await loop.create_datagram_endpoint(Proto, remote_addr=("127.0.0.1", port))
    start = time.perf_counter()
    for _ in range(WINDOW):
        send()
    while time.perf_counter() - start < seconds:
        await asyncio.sleep(0.05)
        tick += 1
        for slot in [k for k, t in sent.items() if tick - t > 10]:  # lost for 0.5 s: resend
            del sent[slot]
            send()
    transport.close()
    return done


async def _paced(port: int, reqs: list[bytes], seconds: float, rate: float) -> list[float]:
    """Requests at a fixed rate; the latency of each answer."""
    loop = asyncio.get_running_loop()
    sent: dict[int, float] = {}
    latencies: list[float] = []

    class Proto(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: object) -> None:
            t = sent.pop(int.from_bytes(data[8:12], "big"), None)
            if t is not None:
                latencies.append(time.perf_counter() - t)

    transport, _ = await loop.create_datagram_endpoint(Proto, remote_addr=("127.0.0.1", port))
    start = time.perf_counter()
    next_i = 0
    while (elapsed := time.perf_counter() - start) < seconds:
        while next_i < int(elapsed * rate):
            slot = next_i % len(reqs)
            sent[slot] = time.perf_counter()
            transport.sendto(reqs[slot])
            next_i += 1
        await asyncio.sleep(0.001)
    await asyncio.sleep(0.2)
    transport.close()
    return latencies


def _client(
    port: int, ids: int, seed: int, seconds: float, rate: float | None
) -> tuple[int, list[float]]:
    """One load-generator process: pre-encoded requests, then a closed window or a fixed rate."""
    import uvloop

    random.seed(seed)
    reqs = _requests(ids, REQUESTS)
    if rate is None:
        return uvloop.run(_saturate(port, reqs, seconds)), []
    return 0, uvloop.run(_paced(port, reqs, seconds, rate))


def _cpu_s(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def _measure(
    server_pid: int, port: int, ids: int, seconds: float, clients: int
) -> tuple[float, float, float, float]:
    """Saturating throughput over ``clients`` processes and the server's CPU microseconds per
    answer meanwhile (what load on the shared machine does not change much), then latency at
    half that rate."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(clients, mp_context=ctx) as pool:
        cpu = _cpu_s(server_pid)
        runs = [pool.submit(_client, port, ids, seed, seconds, None) for seed in range(clients)]
        done = sum(run.result()[0] for run in runs)
        cpu_us = (_cpu_s(server_pid) - cpu) / max(done, 1) * 1e6
        share = done / seconds / 2 / clients
        runs = [pool.submit(_client, port, ids, seed, seconds, share) for seed in range(clients)]
        lat = [x for run in runs for x in run.result()[1]]
    arr = np.array(lat) * 1000
    return done / seconds, cpu_us, float(np.percentile(arr, 50)), float(np.percentile(arr, 99))


def _start(kind: str, path: Path, port: int, ids: int, cold: bool) -> subprocess.Popen[str]:
    code = (
        "import sys; from helan.bench.ident_udp import _serve; "
        "_serve(*sys.argv[1:3], *map(int, sys.argv[3:]))"
    )
    argv = [sys.executable, "-c", code, kind, str(path), str(port), str(ids), str(int(not cold))]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)  # noqa: S603 - our own interpreter
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        proc.kill()
        raise RuntimeError(f"the {kind} server did not start")
    return proc


def run(
    ids: Annotated[int, typer.Option(help="Records in the node's store.")] = 10_000_000,
    seconds: Annotated[float, typer.Option(help="Seconds per measurement.")] = 10.0,
    rounds: Annotated[
        int, typer.Option(help="Node and baseline measured alternately this many times.")
    ] = 3,
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Reuse or create the store here.")
    ] = None,
    port: Annotated[int, typer.Option(help="Node port (the baseline uses the next one).")] = 26411,
    clients: Annotated[int, typer.Option(help="Load-generator processes.")] = 2,
    cold: Annotated[
        bool, typer.Option(help="Measure a just-started node: store pages not yet mapped.")
    ] = False,
) -> None:
    """Throughput and latency of UDP resolution, with an in-run bare-server baseline.

    Both servers run side by side and are measured in turn, ``rounds`` times: on a shared
    machine single measurements move by ±15 %, so the figures are the medians of the rounds
    (every round is printed)."""
    from helan.ident.store.lmdb import LmdbStore

    base = directory or Path(tempfile.mkdtemp(prefix="helan-ident-udp-"))
    path = base / "bench.lmdb"
    if not path.exists():
        store = LmdbStore(path, sync=False)
        store.put_many(records(ids))
        store.sync()
        store.close()
    LmdbStore(path).close()  # index a store made by an older version before timing anything
    servers = {
        "node": _start("node", path, port, ids, cold),
        "baseline": _start("baseline", path, port + 1, ids, cold),
    }
    measured: dict[str, list[tuple[float, float, float, float]]] = {k: [] for k in servers}
    try:
        for _ in range(rounds):
            for i, (kind, proc) in enumerate(servers.items()):
                measured[kind].append(_measure(proc.pid, port + i, ids, seconds, clients))
    finally:
        for proc in servers.values():
            proc.terminate()
            proc.wait(10)
    median = {
        k: [float(np.median(col)) for col in zip(*v, strict=True)] for k, v in measured.items()
    }
    per_s, cpu_us, p50, p99 = median["node"]
    base_per_s, base_cpu_us, _, _ = median["baseline"]
    figures: dict[str, object] = {
        "responses_per_s": round(per_s),
        "server_cpu_us": round(cpu_us, 2),
        "p50_ms": round(p50, 3),
        "p99_ms": round(p99, 3),
        "baseline_per_s": round(base_per_s),
        "baseline_cpu_us": round(base_cpu_us, 2),
        "baseline_ratio": round(per_s / base_per_s, 3),
        "rounds_per_s": [round(r[0]) for r in measured["node"]],
        "baseline_rounds_per_s": [round(r[0]) for r in measured["baseline"]],
        "ids": ids,
        "clients": clients,
        "store_map": "cold" if cold else "premapped",
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    report(
        "ident-udp",
        figures,
        {
            "responses_per_s": "target >= 50,000 (median of the rounds)",
            "server_cpu_us": "server CPU time per answer",
            "p99_ms": "at half the measured rate",
        },
    )
