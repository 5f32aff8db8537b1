"""The issue's end-to-end: root, secondary, enterprise and resolver started with ``helan ident
serve`` as separate processes on loopback, delegating over REST and resolving each other's
identifiers over UDP, TCP and REST (the resolver's REST resolves any handle, like a proxy)."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest
from tests.conftest import free_port
from tests.ident.test_hierarchy import _delegation

HELAN = str(Path(sys.executable).parent / "helan")


@dataclass
class Proc:
    popen: subprocess.Popen[bytes]
    port: int
    rest: int

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.rest}{path}"


def _basic(user: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()}


def _serve(tmp: Path, role: str, secret: str, *args: str) -> Proc:
    port, rest = free_port(), free_port()
    env = {**os.environ, "HELAN_IDENT_SECRET": secret}
    argv = [HELAN, "ident", "serve", "--role", role, "--port", str(port), "--rest-port", str(rest)]
    argv += ["--store", f"lmdb:{tmp / role}", *args]
    popen = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE)
    return Proc(popen, port, rest)


def _up(proc: Proc) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise AssertionError(proc.popen.stderr.read().decode() if proc.popen.stderr else "")
        try:
            httpx.get(proc.url("/api/handles/0.NA/x"), timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("node did not start")


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[dict[str, Proc]]:
    procs: dict[str, Proc] = {}
    try:
        procs["root"] = _serve(tmp_path, "root", "root-secret")
        procs["secondary"] = _serve(tmp_path, "secondary", "sec-secret", "--prefix", "88.118")
        procs["enterprise"] = _serve(tmp_path, "enterprise", "ent-secret", "--prefix", "88.118.100")
        root = f"127.0.0.1:{procs['root'].port}"
        procs["resolver"] = _serve(tmp_path, "resolver", "", "--root", root)
        for proc in procs.values():
            _up(proc)
        yield procs
    finally:
        for proc in procs.values():
            proc.popen.send_signal(signal.SIGTERM)
        for name, proc in procs.items():
            assert proc.popen.wait(15) == 0, name  # a clean shutdown on SIGTERM


def _resolve(server: int, handle: str, *flags: str) -> dict[str, object]:
    out = subprocess.run(
        [HELAN, "ident", "resolve", handle, "--server", f"127.0.0.1:{server}", *flags],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert out.returncode == 0, out.stderr.decode()
    parsed: dict[str, object] = orjson.loads(out.stdout)
    return parsed


def test_four_cli_nodes_resolve_each_other(nodes: dict[str, Proc]) -> None:
    root, sec, ent, res = (nodes[n] for n in ("root", "secondary", "enterprise", "resolver"))
    with httpx.Client(timeout=10) as http:
        put = http.put(
            root.url("/api/handles/0.NA/88.118"),
            json={"values": _delegation(sec.port, "0.NA/88.118", "sec-secret")},
            headers=_basic("300%3A0.NA/0.NA", "root-secret"),
        )
        assert put.status_code == 201, put.text
        put = http.put(
            sec.url("/api/handles/0.NA/88.118.100"),
            json={"values": _delegation(ent.port, "0.NA/88.118.100", "ent-secret")},
            headers=_basic("300%3A0.NA/88.118", "sec-secret"),
        )
        assert put.status_code == 201, put.text
        url = "https://mes.factory.example/items/SN-1"
        put = http.put(
            ent.url("/api/handles/88.118.100/SN-1"),
            json={"values": [{"index": 1, "type": "URL", "data": url}]},
            headers=_basic("300%3A0.NA/88.118.100", "ent-secret"),
        )
        assert put.status_code == 201, put.text

        # UDP and TCP through the resolver: the enterprise's handle, the secondary's and the
        # root's delegation records.
        for flags in ((), ("--tcp",)):
            got = _resolve(res.port, "88.118.100/sn-1", *flags)
            assert got["handle"] == "88.118.100/SN-1"
            assert [v["data"]["value"] for v in got["values"]] == [url]  # type: ignore[attr-defined,index]
            for record in ("0.NA/88.118.100", "0.NA/88.118"):
                got = _resolve(res.port, record, "--type", "HS_SITE", *flags)
                assert [v["type"] for v in got["values"]] == ["HS_SITE"]  # type: ignore[attr-defined,index]

        # REST: the resolver resolves anything; each node answers what it holds.
        body = http.get(res.url("/api/handles/88.118.100/SN-1")).json()
        assert (body["responseCode"], body["values"][0]["data"]["value"]) == (1, url)
        assert body["authenticated"] is False  # nothing is signed in this tree
        filtered = http.get(res.url("/api/handles/88.118.100/SN-1?type=EMAIL")).json()
        assert (filtered["responseCode"], filtered["values"]) == (200, [])
        missing = http.get(res.url("/api/handles/88.118.100/none"))
        assert (missing.status_code, missing.json()["responseCode"]) == (404, 100)
        bad = http.get(res.url("/api/handles/88.118.100/%00x"))
        assert (bad.status_code, bad.json()["responseCode"]) == (400, 102)  # INVALID_HANDLE
        write = http.put(res.url("/api/handles/88.118.100/SN-2"), json={"values": []})
        assert (write.status_code, write.json()["responseCode"]) == (400, 5)
        held = http.get(sec.url("/api/handles/0.NA/88.118.100")).json()
        assert held["responseCode"] == 1
