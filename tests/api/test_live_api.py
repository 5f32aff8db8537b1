"""Live state and ingest counters through the real app and auth."""

from __future__ import annotations

import time

import orjson


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def test_live_and_stats(world) -> None:
    client = world.api.client
    ts = now_ms() - 1000
    rows = [
        {"device": "pump-1", "metric": "temp", "ts": ts, "value": 42.5},
        {"device": "pump-1", "metric": "temp", "ts": ts - 10, "value": 1.0},
        {"device": "pump-1", "metric": "zzz", "ts": ts, "value": 1.0},
    ]
    r = client.post(
        "/api/v1/tenants/acme/ingest",
        content=orjson.dumps(rows),
        headers={**world.a.operator, "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text

    live = client.get("/api/v1/tenants/acme/live", headers=world.a.viewer)
    assert live.status_code == 200, live.text
    pump = next(d for d in live.json()["devices"] if d["device"] == "pump-1")
    assert pump["online"] is True
    assert pump["last_seen"] >= ts
    assert pump["values"]["temp"]["ts"] >= ts

    one = client.get("/api/v1/tenants/acme/devices/pump-1/live", headers=world.a.viewer)
    assert one.status_code == 200
    assert one.json()["device"] == "pump-1"
    assert one.json()["values"]["temp"]["ts"] >= ts

    stats = client.get("/api/v1/tenants/acme/ingest/stats", headers=world.a.viewer).json()
    assert stats["accepted"] >= 2
    assert stats["rejected_by_reason"].get("unknown_metric", 0) >= 1
    assert "writer" not in stats  # the shared writer serves every tenant: operator's view
    root = client.get("/api/v1/tenants/acme/ingest/stats", headers=world.api.as_admin()).json()
    assert root["writer"]["batches"] >= 1


def test_live_isolation_and_unknown(world) -> None:
    client = world.api.client
    assert client.get("/api/v1/tenants/acme/live", headers=world.b.viewer).status_code == 404
    assert client.get("/api/v1/tenants/acme/live").status_code == 401
    r = client.get("/api/v1/tenants/acme/devices/ghost/live", headers=world.a.viewer)
    assert r.status_code == 404
    b_live = client.get("/api/v1/tenants/bolt/live", headers=world.b.viewer).json()
    assert all(d["device"] != "ghost" for d in b_live["devices"])
    stats = client.get("/api/v1/tenants/bolt/ingest/stats", headers=world.b.viewer).json()
    assert stats["tenant"] == "bolt"
