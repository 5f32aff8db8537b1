"""``helan bench ingest-http``: bulk HTTP ingest (JSON columns, JSON rows, Arrow IPC) through a
real server (uvicorn), validation and the durable DuckDB store, against a bare DuckDB Arrow
append of the same points in the same run.

The server runs in this process with the httpx client (they share the event loop and the
store's writer thread); bodies are encoded before the clock starts. The route's auth dependency
is replaced by a fixed operator principal: auth is a per-request constant, measured elsewhere.
"""

from __future__ import annotations

import asyncio
import io
import socket
import tempfile
import time
from pathlib import Path
from typing import Annotated

import duckdb
import numpy as np
import orjson
import pyarrow as pa
import typer

from helan.config import Settings
from helan.core.points import POINT_SCHEMA
from helan.observe.report import report

METRICS = [f"m{i}" for i in range(10)]
DEVICES = 100
ARROW = "application/vnd.apache.arrow.stream"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _series(total: int, body_points: int, t0: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(device, ts, values[metric, ts]) chunks: quantised 1 Hz signals, body_points per chunk."""
    rng = np.random.default_rng(7)
    per_body = max(body_points // len(METRICS), 1)
    chunks = []
    made = 0
    k = 0
    while made < total:
        device = f"dev-{k % DEVICES}"
        start = t0 + (k // DEVICES) * per_body * 1000
        ts = start + np.arange(per_body, dtype=np.int64) * 1000
        values = np.round(20 + rng.standard_normal((len(METRICS), per_body)), 2)
        chunks.append((device, ts, values))
        made += per_body * len(METRICS)
        k += 1
    return chunks


def _columns_body(chunk: tuple[str, np.ndarray, np.ndarray]) -> bytes:
    device, ts, values = chunk
    return orjson.dumps(
        {"device": device, "ts": ts, "values": dict(zip(METRICS, values, strict=True))},
        option=orjson.OPT_SERIALIZE_NUMPY,
    )


def _rows_body(chunk: tuple[str, np.ndarray, np.ndarray]) -> bytes:
    device, ts, values = chunk
    rows = [
        {"device": device, "metric": m, "ts": int(t), "value": float(v)}
        for m, column in zip(METRICS, values, strict=True)
        for t, v in zip(ts, column, strict=True)
    ]
    return orjson.dumps(rows)


def _table(tenant: str, chunk: tuple[str, np.ndarray, np.ndarray]) -> pa.Table:
    device, ts, values = chunk
    n = values.size
    return pa.table(
        [
            pa.array([tenant] * n, pa.string()),
            pa.array([device] * n, pa.string()),
            pa.array(np.repeat(np.array(METRICS), len(ts)), pa.string()),
            pa.array(np.tile(ts, len(METRICS)), pa.int64()),
            pa.array(values.reshape(-1), pa.float64()),
            pa.nulls(n, pa.string()),
            pa.array(np.zeros(n, np.int8)),
        ],
        schema=POINT_SCHEMA,
    )


def _arrow_body(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    body = table.select(["device", "metric", "ts", "value"])
    with pa.ipc.new_stream(sink, body.schema) as writer:
        writer.write_table(body)
    return sink.getvalue()


def _baseline(tables: list[pa.Table], path: Path) -> float:
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE t (tenant VARCHAR, device VARCHAR, metric VARCHAR, ts BIGINT,"
        " value DOUBLE, text VARCHAR, quality TINYINT)"
    )
    started = time.perf_counter()
    for batch in tables:
        con.register("batch", batch)
        con.execute("INSERT INTO t SELECT * FROM batch")
        con.unregister("batch")
    elapsed = time.perf_counter() - started
    con.close()
    return float(sum(t.num_rows for t in tables) / elapsed)


async def _post_all(
    url: str, bodies: list[bytes], content_type: str, concurrency: int
) -> tuple[float, int]:
    import httpx

    accepted = 0
    queue = list(reversed(bodies))
    async with httpx.AsyncClient(timeout=120) as client:

        async def worker() -> None:
            nonlocal accepted
            while queue:
                body = queue.pop()
                r = await client.post(url, content=body, headers={"Content-Type": content_type})
                if r.status_code != 200:
                    raise RuntimeError(f"ingest answered {r.status_code}: {r.text[:300]}")
                accepted += r.json()["accepted"]

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, accepted


async def _measure(
    points: int, rows_points: int, body_points: int, concurrency: int, tmp: Path
) -> dict[str, object]:
    import uvicorn
    from fastapi import FastAPI

    from helan.api import deps
    from helan.api.app import create_app
    from helan.ingest.static_directory import StaticDirectory
    from helan.platform import Platform
    from helan.security.principal import Principal, Role

    settings = Settings(
        data_dir=tmp / "var",
        max_payload_bytes=64 * 1024 * 1024,
        ingest_batch_points=500_000,
        ingest_batch_ms=50,
    )
    platform = Platform.build(settings)
    tenants = ("cols", "rows", "arrow")
    platform.directory = StaticDirectory.from_records(
        {"tenant": t, "device": f"dev-{d}", "metrics": [{"name": m} for m in METRICS]}
        for t in tenants
        for d in range(DEVICES)
    )
    app: FastAPI = create_app(platform)
    app.dependency_overrides[deps.tenant_writer] = lambda: Principal(
        kind="user", subject="bench", tenant=None, role=Role.PLATFORM_ADMIN
    )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", loop="none")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes only this flag
        await asyncio.sleep(0.01)
    await platform.pipeline.start()
    t0 = time.time_ns() // 1_000_000 - 300 * 86_400_000
    chunks = _series(points, body_points, t0)
    row_chunks = _series(rows_points, body_points, t0)
    col_bodies = [_columns_body(c) for c in chunks]
    row_bodies = [_rows_body(c) for c in row_chunks]
    tables = [_table("arrow", c) for c in chunks]
    arrow_bodies = [_arrow_body(t) for t in tables]
    base = f"http://127.0.0.1:{port}/api/v1/tenants"
    try:
        cols_s, cols_n = await _post_all(f"{base}/cols/ingest", col_bodies, "application/json",
                                         concurrency)  # fmt: skip
        rows_s, rows_n = await _post_all(f"{base}/rows/ingest", row_bodies, "application/json",
                                         concurrency)  # fmt: skip
        arrow_s, arrow_n = await _post_all(f"{base}/arrow/ingest", arrow_bodies, ARROW,
                                           concurrency)  # fmt: skip
    finally:
        server.should_exit = True
        await serving
        await platform.pipeline.stop()
        stored = platform.telemetry.stats().points
        platform.telemetry.close()
        platform.meta.close()
    baseline = _baseline(tables, tmp / "bare.duckdb")
    arrow_rate = arrow_n / arrow_s
    return {
        "json_points_per_s": round(cols_n / cols_s),
        "json_rows_points_per_s": round(rows_n / rows_s),
        "arrow_points_per_s": round(arrow_rate),
        "baseline_points_per_s": round(baseline),
        "baseline_ratio": round(arrow_rate / baseline, 3),
        "points": cols_n,
        "stored": stored,
        "body_points": body_points,
        "concurrency": concurrency,
    }


def run(
    points: Annotated[
        int, typer.Option(help="Points per JSON-columns and Arrow phase.")
    ] = 5_000_000,
    rows_points: Annotated[
        int, typer.Option(help="Points of the (slower) JSON-rows phase.")
    ] = 1_000_000,
    body_points: Annotated[int, typer.Option(help="Points per request body.")] = 100_000,
    concurrency: Annotated[int, typer.Option(help="Requests in flight.")] = 2,
) -> None:
    """HTTP bulk ingest into the durable DuckDB store vs a bare DuckDB Arrow append."""
    import uvloop

    with tempfile.TemporaryDirectory() as tmp:
        figures = uvloop.run(_measure(points, rows_points, body_points, concurrency, Path(tmp)))
    report(
        "HTTP bulk ingest (validated, durable, DuckDB)",
        figures,
        notes={
            "json_points_per_s": "columnar JSON body; target >= 1,000,000",
            "arrow_points_per_s": "Arrow IPC stream body",
            "baseline_points_per_s": "bare DuckDB INSERT of the same Arrow batches",
            "baseline_ratio": "arrow / baseline; target >= 0.7",
            "stored": "distinct points in the store after all phases",
        },
    )
