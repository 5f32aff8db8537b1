"""Bulk registration: streamed NDJSON/CSV over HTTP and from the CLI, with per-line errors."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from helan.ident.bulk import MAX_LINE, numbered_chunks
from helan.ident.model import Handle
from helan.ident.registry import Registry
from helan.ident.rest.app import create_app
from helan.ident.store import open_store
from helan.ident.wire.records import decode_record

PREFIX = "88.118.100"


def _basic(user: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()}


ADMIN = _basic(f"300%3A0.NA/{PREFIX}", "s3cret")
OTHER = _basic("300%3A0.NA/88.118.200", "other")


def _line(handle: str, url: str = "https://x") -> bytes:
    return json.dumps(
        {"handle": handle, "values": [{"index": 1, "type": "URL", "data": url}]}
    ).encode()


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    reg = Registry(open_store(f"lmdb:{tmp_path / 'db'}"), homed=[PREFIX, "88.118.200"])
    reg.bootstrap_prefix(PREFIX, b"s3cret", None)
    reg.bootstrap_prefix("88.118.200", b"other", None)
    yield reg
    reg.store.close()


@pytest.fixture
async def api(registry: Registry) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(registry))
    async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
        yield client


async def test_ndjson_stream_stores_good_lines_and_names_bad_ones(
    api: httpx.AsyncClient, registry: Registry
) -> None:
    body = b"\n".join(
        [
            _line(f"{PREFIX}/A"),
            b"{broken",
            _line(f"{PREFIX}/../x"),
            b"",
            _line("88.118.200/B"),  # another enterprise's prefix
            _line("77.1/C"),  # not homed here
            _line(f"{PREFIX}/A"),  # duplicate of line 1
            json.dumps({"handle": f"{PREFIX}/D", "values": [{"index": 0, "type": "URL"}]}).encode(),
            _line(f"{PREFIX}/E"),
        ]
    )

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 7):  # lines split across chunks
            yield body[i : i + 7]

    r = await api.post("/api/bulk", content=chunks(), headers=ADMIN)
    summary = r.json()
    assert r.status_code == 200
    assert (summary["created"], summary["updated"], summary["failed"]) == (2, 0, 6)
    assert [(e["line"], e["responseCode"]) for e in summary["errors"]] == [
        (2, 202),
        (3, 102),
        (5, 400),
        (6, 301),
        (7, 101),
        (8, 202),
    ]
    assert summary["errors"][4]["message"] == f"line 7: {PREFIX}/A already exists"
    assert registry.get(Handle.parse(f"{PREFIX}/E")) is not None
    assert registry.get(Handle.parse("88.118.200/B")) is None


async def test_csv_overwrite_auth_and_header(api: httpx.AsyncClient, registry: Registry) -> None:
    csv_body = f"handle,URL,EMAIL\n{PREFIX}/A,https://a,\n{PREFIX}/B,https://b,b@x\n{PREFIX}/C,1\n"
    r = await api.post("/api/bulk", content=csv_body, headers={**ADMIN, "Content-Type": "text/csv"})
    summary = r.json()
    assert (summary["created"], summary["failed"]) == (2, 1)
    assert summary["errors"][0]["message"] == "line 4: 2 columns, the header has 3"
    _, values = decode_record(registry.store.get(Handle.parse(f"{PREFIX}/B").key) or b"")
    assert [(v.index, v.type, v.data) for v in values] == [
        (1, "URL", b"https://b"),
        (2, "EMAIL", b"b@x"),
    ]
    r = await api.post(
        "/api/bulk",
        params={"format": "csv", "overwrite": "true"},
        content=f"handle,URL\n{PREFIX}/A,https://new\n{PREFIX}/Z,https://z\n",
        headers=ADMIN,
    )
    assert (r.json()["created"], r.json()["updated"]) == (1, 1)
    r = await api.post(
        "/api/bulk", params={"format": "csv"}, content="id,URL\nx,y\n", headers=ADMIN
    )
    assert (r.status_code, r.json()["responseCode"]) == (400, 202)
    assert "header must be 'handle'" in r.json()["message"]
    r = await api.post("/api/bulk", params={"format": "xml"}, content="", headers=ADMIN)
    assert (r.status_code, r.json()["responseCode"]) == (400, 202)
    r = await api.post("/api/bulk", content=_line(f"{PREFIX}/Q"))
    assert (r.status_code, r.json()["responseCode"]) == (401, 402)
    r = await api.post("/api/bulk", content=_line(f"{PREFIX}/Q"), headers=OTHER)
    assert r.json()["errors"][0]["responseCode"] == 400  # not an admin of this prefix
    assert registry.get(Handle.parse(f"{PREFIX}/Q")) is None


async def test_oversize_lines_are_refused_without_losing_count() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"a\n" + b"x" * (MAX_LINE // 2)
        yield b"x" * MAX_LINE
        yield b"x" * 10 + b"\nb\nc"

    batches = [b async for b in numbered_chunks(chunks())]
    lines = [(n, len(line)) for batch in batches for n, line in batch]
    assert lines[0] == (1, 1)
    assert lines[1][0] == 2
    assert lines[1][1] > MAX_LINE
    assert lines[2:] == [(3, 1), (4, 1)]


@pytest.fixture
def served(registry: Registry, port: int) -> Iterator[str]:
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(registry), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def _cli(*args: str, secret: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HELAN_IDENT_SECRET": secret, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "helan.ident.cli", "load", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_cli_loads_into_a_remote_node_over_http(
    served: str, registry: Registry, tmp_path: Path
) -> None:
    data = tmp_path / "ids.ndjson"
    data.write_bytes(b"\n".join(_line(f"{PREFIX}/SN-{i:05d}") for i in range(12_000)) + b"\n{x\n")
    done = _cli(str(data), "--url", served, "--user", f"300:0.NA/{PREFIX}", secret="s3cret")
    assert done.returncode == 1, done.stderr  # one bad line
    assert "created 12,000, updated 0, failed 1" in done.stderr
    assert "line 12001: not JSON" in done.stderr
    assert registry.get(Handle.parse(f"{PREFIX}/SN-11999")) is not None
    denied = _cli(str(data), "--url", served, "--user", f"300:0.NA/{PREFIX}", secret="bad")
    assert denied.returncode == 1
    assert "authentication failed" in denied.stderr


def test_cli_loads_a_local_store(tmp_path: Path) -> None:
    data = tmp_path / "ids.csv"
    data.write_text("handle,URL\n88.1/A,https://a\n88.1/B,https://b\n")
    done = _cli(str(data), "--prefix", "88.1", "--store", f"lmdb:{tmp_path / 'db'}")
    assert done.returncode == 0, done.stderr
    assert "created 2," in done.stderr
    store = open_store(f"lmdb:{tmp_path / 'db'}")
    try:
        assert store.get(Handle.parse("88.1/b").key) is not None
    finally:
        store.close()
