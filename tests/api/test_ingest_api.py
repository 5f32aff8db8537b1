"""HTTP ingest through the real app, real auth and the real DuckDB store."""

from __future__ import annotations

import base64
import io
import time

import orjson
import pyarrow as pa
import pytest

from helan.storage.telemetry.base import RawQuery

ARROW = "application/vnd.apache.arrow.stream"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def stored(world, device: str = "pump-1", metric: str = "temp", tenant: str = "acme") -> list:
    q = RawQuery(
        tenant=tenant, device=device, metric=metric, start_ms=0, end_ms=2**62, limit=100_000
    )
    return world.api.platform.telemetry.raw(q)["ts"].to_pylist()


def basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def post(world, body: bytes, ctype: str, headers: dict[str, str], tenant: str = "acme"):
    return world.api.client.post(
        f"/api/v1/tenants/{tenant}/ingest", content=body, headers={**headers, "Content-Type": ctype}
    )


def test_rows_columns_arrow_csv(world) -> None:
    ts = now_ms() - 100_000
    op = world.a.operator
    rows = [
        {"device": "pump-1", "metric": "temp", "ts": ts + i, "value": 20.0 + i} for i in range(5)
    ]
    r = post(world, orjson.dumps(rows), "application/json", op)
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 5, "rejected": 0, "errors": []}
    cols = {
        "device": "pump-1",
        "ts": [ts + 10 + i for i in range(5)],
        "values": {"temp": [1.0] * 5},
    }
    assert post(world, orjson.dumps(cols), "application/json", op).json()["accepted"] == 5
    table = pa.table(
        {
            "device": ["pump-1"] * 3,
            "metric": ["temp"] * 3,
            "ts": pa.array([ts + 20, ts + 21, ts + 22], pa.int64()),
            "value": [1.0, 2.0, 3.0],
        }
    )
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    assert post(world, sink.getvalue(), ARROW, op).json()["accepted"] == 3
    csv = f"device,metric,ts,value\npump-1,temp,{ts + 30},4.5\n".encode()
    assert post(world, csv, "text/csv; charset=utf-8", op).json()["accepted"] == 1
    assert len([t for t in stored(world) if ts <= t < ts + 100]) == 14  # durable at 200


def test_partial_and_all_invalid(world) -> None:
    ts = now_ms()
    rows = [
        {"device": "pump-1", "metric": "temp", "ts": ts, "value": 1.0},
        {"device": "pump-1", "metric": "nope", "ts": ts, "value": 1.0},
        {"device": "ghost", "metric": "temp", "ts": ts, "value": 1.0},
    ]
    r = post(world, orjson.dumps(rows), "application/json", world.a.operator)
    assert r.status_code == 200
    body = r.json()
    assert (body["accepted"], body["rejected"]) == (1, 2)
    assert [(e["index"], e["reason"]) for e in body["errors"]] == [
        (1, "unknown_metric"),
        (2, "unknown_device"),
    ]
    r = post(world, orjson.dumps(rows[1:]), "application/json", world.a.operator)
    assert r.status_code == 422
    assert r.json()["accepted"] == 0


@pytest.mark.parametrize(
    ("body", "ctype", "status"),
    [
        (b"{nope", "application/json", 400),
        (b"[" * 10_000 + b"]" * 10_000, "application/json", 400),
        (b"garbage", ARROW, 400),
        (b"a,b\n1,2\n", "text/csv", 400),
        (b"<xml/>", "application/xml", 415),
        (b"[]", "", 415),
    ],
)
def test_unreadable_bodies(world, body, ctype, status) -> None:
    r = post(world, body, ctype, world.a.operator)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] in ("bad_body", "unsupported_media_type")


def test_oversize_body(world) -> None:
    limit = world.api.platform.settings.max_payload_bytes
    r = post(world, b"[" + b" " * limit + b"]", "application/json", world.a.operator)
    assert r.status_code == 413


def test_who_may_ingest(world) -> None:
    body = orjson.dumps([{"device": "pump-1", "metric": "temp", "ts": now_ms(), "value": 1.0}])
    assert post(world, body, "application/json", world.a.viewer).status_code == 403
    assert post(world, body, "application/json", world.b.operator).status_code == 404
    assert post(world, body, "application/json", {}).status_code == 401
    assert post(world, body, "application/json", world.a.keys["telemetry_write"]).status_code == 200
    assert post(world, body, "application/json", world.a.keys["devices_read"]).status_code == 403
    device = basic(*world.a.device_auth)
    assert post(world, body, "application/json", device).status_code == 403


def test_device_endpoint(world) -> None:
    ts = now_ms() - 50_000
    url = "/api/v1/devices/me/telemetry"
    auth = basic(*world.a.device_auth)
    payload = [{"ts": ts, "values": {"temp": 21.5}}, {"ts": ts + 1, "values": {"temp": "hot"}}]
    r = world.api.client.post(
        url, content=orjson.dumps(payload), headers={**auth, "Content-Type": "application/json"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1
    assert r.json()["errors"][0]["reason"] == "wrong_type"
    assert ts in stored(world)
    bad = world.api.client.post(
        url, content=b"{x", headers={**auth, "Content-Type": "application/json"}
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "malformed"
    wrong = basic(world.a.device_auth[0], "wrong-secret")
    assert (
        world.api.client.post(
            url, content=b"{}", headers={**wrong, "Content-Type": "application/json"}
        ).status_code
        == 401
    )
    user = world.api.client.post(
        url, content=b"{}", headers={**world.a.operator, "Content-Type": "application/json"}
    )
    assert user.status_code == 403
