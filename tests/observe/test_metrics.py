"""Self-monitoring through the real app: /metrics moves by what was ingested and refused, routes
are labelled by template, /readyz reports failing checks, a bare role serves the ops app, and
the identifier node counts Handle requests by operation, response code and transport."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest
import uvicorn
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from helan.admin.bootstrap import bootstrap_admin
from helan.api.app import create_app
from helan.config import Settings
from helan.ident.codes import ResponseCode
from helan.ident.node import Role
from helan.ident.runtime import NodeConfig, RunningNode
from helan.ident.server.client import HandleClient, Target
from helan.ident.wire import messages as m
from helan.ingest.counters import IngestCounters
from helan.observe.routes import ops_app
from helan.platform import Platform
from tests.conftest import eventually, free_port

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
INGEST = "/api/v1/tenants/{tenant}/ingest"


def parse(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def scrape(client: TestClient) -> Samples:
    r = client.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return parse(r.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


@dataclass
class Api:
    client: TestClient
    platform: Platform
    admin: dict[str, str]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A real platform behind the real app: tenant ``obs`` with one device measuring ``temp``."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("observe") / "var")
    platform = Platform.build(settings)
    password = bootstrap_admin(platform.meta)
    assert password is not None
    with TestClient(create_app(platform), raise_server_exceptions=False) as client:
        r = client.post("/api/v1/auth/token", json={"username": "admin", "password": password})
        assert r.status_code == 200, r.text
        admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
        base, temp = "/api/v1/tenants/obs", {"name": "temp"}
        for url, body in [
            ("/api/v1/tenants", {"id": "obs", "name": "Observed"}),
            (f"{base}/device-types", {"id": "pump", "name": "Pump", "properties": [temp]}),
            (f"{base}/devices", {"id": "pump-1", "name": "Pump 1", "device_type": "pump"}),
        ]:
            r = client.post(url, json=body, headers=admin)
            assert r.status_code == 201, r.text
        yield Api(client, platform, admin)
    if platform.ident is not None:
        platform.ident.close()
    platform.telemetry.close()
    platform.meta.close()


def ingest(api: Api, body: bytes) -> httpx.Response:
    headers = {**api.admin, "Content-Type": "application/json"}
    return api.client.post("/api/v1/tenants/obs/ingest", content=body, headers=headers)


def test_ingest_and_refusals_move_the_counters(api: Api) -> None:
    before = scrape(api.client)
    ts = time.time_ns() // 1_000_000 - 10_000
    rows = [{"device": "pump-1", "metric": "temp", "ts": ts + i, "value": 1.0} for i in range(3)]
    rows.append({"device": "pump-1", "metric": "rpm", "ts": ts, "value": 1.0})  # not in its type
    r = ingest(api, orjson.dumps(rows))
    assert r.json()["accepted"] == 3, r.text
    assert ingest(api, b"[{not json").status_code == 400
    after = scrape(api.client)

    assert moved(before, after, "helan_ingest_points_accepted_total", tenant="obs") == 3
    rejected = "helan_ingest_points_rejected_total"
    assert moved(before, after, rejected, tenant="obs", reason="unknown_metric") == 1
    assert moved(before, after, rejected, tenant="obs", reason="malformed") == 1
    assert moved(before, after, "helan_ingest_messages_total", tenant="obs") == 1
    assert moved(before, after, "helan_ingest_points_written_total") == 3
    # The histogram is observed once per batch written, as the writer's own count says.
    batches = moved(before, after, "helan_ingest_batches_total")
    assert batches >= 1
    assert moved(before, after, "helan_ingest_batch_write_seconds_count") == batches
    assert moved(before, after, "helan_ingest_batch_write_seconds_sum") > 0

    # The same numbers the tenant sees in its own report.
    stats = api.client.get("/api/v1/tenants/obs/ingest/stats", headers=api.admin).json()
    assert stats["accepted"] == value(after, "helan_ingest_points_accepted_total", tenant="obs")


def test_http_latency_is_labelled_by_route_template(api: Api) -> None:
    before = scrape(api.client)
    ingest(api, b"[]")
    ingest(api, b"{oops")
    assert api.client.get("/no/such/path/pump-1").status_code == 404
    handle = api.client.get("/api/handles/88.118/pump-1")  # Handle REST: a plain Starlette route
    after = scrape(api.client)

    count = "helan_http_request_duration_seconds_count"
    post = {"method": "POST", "route": INGEST}
    assert moved(before, after, count, **post, status="200") == 1
    assert moved(before, after, count, **post, status="400") == 1
    assert moved(before, after, count, method="GET", route="unmatched", status="404") == 1
    assert moved(before, after, count, method="GET", route="/metrics", status="200") == 1
    handles = {"method": "GET", "route": "/api/handles/{handle:path}"}
    assert moved(before, after, count, **handles, status=str(handle.status_code)) == 1
    routes = {dict(labels).get("route") for name, labels in after if name == count}
    assert not {r for r in routes if r and ("obs" in r or "pump-1" in r)}  # no ids in labels


def test_health_and_readiness_of_the_api(api: Api) -> None:
    r = api.client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.json()["version"]
    r = api.client.get("/readyz")
    checks = dict(getattr(api.platform, "readiness", dict)())
    assert r.status_code == (200 if all(checks.values()) else 503), r.text
    # No credentials are needed for any of the three (docs/operations.md).
    assert api.client.get("/metrics").status_code == 200


def test_readyz_names_the_failing_checks() -> None:
    checks = {"telemetry": True, "broker": True, "metadata": True}
    client = TestClient(ops_app(lambda: checks))
    r = client.get("/readyz")
    assert (r.status_code, r.json()["status"]) == (200, "ready")
    checks["broker"] = False
    checks["metadata"] = False
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json() == {"status": "not_ready", "failing": ["broker", "metadata"]}


async def test_a_bare_role_serves_the_ops_app() -> None:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(ops_app(dict), host="127.0.0.1", port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: server.started)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            metrics = await client.get("/metrics")
            assert metrics.status_code == 200
            names = {f.name for f in text_string_to_metric_families(metrics.text)}
            assert {
                "helan_build_info",
                "helan_ingest_points_accepted",
                "process_cpu_seconds",
            } <= names
            assert (await client.get("/healthz")).json()["status"] == "ok"
            assert (await client.get("/readyz")).status_code == 200
            assert (await client.get("/api/v1/tenants")).status_code == 404  # no REST API here
    finally:
        server.should_exit = True
        await task


def test_counters_are_exported_while_they_live() -> None:
    counters = IngestCounters()
    counters.accepted("observe-weak", 5)
    counters.rejected("observe-weak", {"bad_value": 2})
    samples = parse(generate_latest(REGISTRY).decode())
    assert value(samples, "helan_ingest_points_accepted_total", tenant="observe-weak") == 5
    rejected = "helan_ingest_points_rejected_total"
    assert value(samples, rejected, tenant="observe-weak", reason="bad_value") == 2
    many = [IngestCounters() for _ in range(200)]  # no duplicate registration, no error
    del counters, many
    gc.collect()
    samples = parse(generate_latest(REGISTRY).decode())
    assert not [key for key in samples if ("tenant", "observe-weak") in key[1]]


async def test_handle_requests_are_counted_by_opcode_code_and_transport(tmp_path: Path) -> None:
    cfg = NodeConfig(
        role=Role.ENTERPRISE,
        port=0,
        store=f"lmdb:{tmp_path / 'handles'}",
        prefixes=["88.118.100"],
        admin_secret=b"secret",
    )
    node = RunningNode(cfg)
    await node.start()
    client = HandleClient()
    try:
        before = parse(generate_latest(REGISTRY).decode())
        udp, tcp = Target("127.0.0.1", node.port), Target("127.0.0.1", node.port, tcp=True)
        assert (await client.resolve(udp, "88.118.100/none")).rc == ResponseCode.HANDLE_NOT_FOUND
        assert (await client.resolve(udp, "88.118.100/none")).rc == ResponseCode.HANDLE_NOT_FOUND
        assert (await client.site_info(tcp)).rc == ResponseCode.SUCCESS
        odd = m.Message(opcode=7777, rc=0, body=m.GenericRequest(), request_id=client.next_id())
        assert (await client.send(udp, odd)).rc == ResponseCode.OPERATION_NOT_SUPPORTED
        name = "helan_handle_requests_total"
        expected = {
            ("RESOLUTION", "HANDLE_NOT_FOUND", "udp"): 2,
            ("GET_SITE_INFO", "SUCCESS", "tcp"): 1,
            ("other", "OPERATION_NOT_SUPPORTED", "udp"): 1,  # an unknown opcode: no new series
        }

        def counted() -> dict[tuple[str, str, str], float]:
            after = parse(generate_latest(REGISTRY).decode())
            return {
                (op, rc, t): moved(before, after, name, opcode=op, response_code=rc, transport=t)
                for op, rc, t in expected
            }

        await eventually(lambda: counted() == expected, 2)  # UDP counts just after sending
    finally:
        client.close()
        await node.stop()
