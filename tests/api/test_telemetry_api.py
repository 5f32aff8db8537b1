"""The telemetry query router through the real app, real auth and a real DuckDB store.

``world`` (meta_world.py) provisions tenants ``acme`` and ``bolt`` with users and API keys;
the points are written straight into the platform's telemetry store once per module.
"""

from __future__ import annotations

import base64
import io

import httpx
import numpy as np
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from meta_world import World

from helan.core.points import batch_from_columns

T0 = 1_699_999_200_000  # 2023-11-14T22:00:00Z
BASE = "/api/v1/tenants/acme/devices/pump-1/telemetry"
ENDPOINTS = [
    (f"{BASE}/pressure", {"start": T0, "end": T0 + 10_000}),
    (BASE, {"metrics": "pressure", "start": T0, "end": T0 + 60_000}),
    (f"{BASE}/pressure/export", {"start": T0, "end": T0 + 10_000}),
]


@pytest.fixture(scope="module")
def client(world: World) -> Client:
    """The world's client, with an hour of ``pressure`` and two ``state`` strings in acme."""
    store = world.api.platform.telemetry
    n = 7200
    ts = (T0 + np.arange(n) * 1000).tolist()
    store.write(
        batch_from_columns(
            ["acme"] * n, ["pump-1"] * n, ["pressure"] * n, ts, [float(i % 60) for i in range(n)]
        )
    )
    store.write(
        batch_from_columns(
            ["acme"] * 2,
            ["pump-1"] * 2,
            ["state"] * 2,
            [T0, T0 + 1000],
            [None, None],
            ["ON", "OFF"],
        )
    )
    return Client(world.api.client, world.a.viewer)


class Client:
    """GETs as acme's viewer unless other headers are given."""

    def __init__(self, http: TestClient, viewer: dict[str, str]) -> None:
        self.http = http
        self.viewer = viewer

    def get(
        self,
        url: str,
        params: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        return self.http.get(
            url,
            params=params,  # type: ignore[arg-type]
            headers=self.viewer if headers is None else headers,
        )


def test_raw_points_with_paging_order_and_rfc3339(client: Client) -> None:
    r = client.get(
        f"{BASE}/pressure", params={"start": T0, "end": T0 + 10_000, "limit": 3, "offset": 2}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert [p["ts"] for p in body["points"]] == [T0 + 2000, T0 + 3000, T0 + 4000]
    assert body["points"][0] == {"ts": T0 + 2000, "value": 2.0, "text": None, "quality": 0}
    r = client.get(
        f"{BASE}/pressure",
        params={
            "start": "2023-11-14T22:00:00Z",
            "end": "2023-11-15T00:00:00+01:00",
            "order": "desc",
            "limit": 1,
        },
    )
    assert r.json()["points"][0]["ts"] == T0 + 3_599_000  # 00:00+01:00 is 23:00Z, exclusive
    r = client.get(f"{BASE}/state", params={"start": T0, "end": T0 + 5000})
    assert [p["text"] for p in r.json()["points"]] == ["ON", "OFF"]


def test_aggregate_uses_buckets_and_functions(client: Client) -> None:
    r = client.get(
        BASE,
        params={
            "metrics": "pressure,state",
            "start": T0,
            "end": T0 + 7_200_000,
            "bucket": "1h",
            "fn": "max",
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["bucket_ms"] == 3_600_000
    assert body["series"] == {"pressure": [[T0, 59.0], [T0 + 3_600_000, 59.0]], "state": []}
    r = client.get(
        BASE,
        params={
            "metrics": "pressure",
            "start": T0,
            "end": T0 + 60_000,
            "bucket": "30s",
            "fn": "avg",
        },
    )
    assert r.json()["series"]["pressure"] == [[T0, 14.5], [T0 + 30_000, 44.5]]


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("/pressure", {"start": T0, "end": T0 - 1}, "before"),
        ("/pressure", {"start": "yesterday"}, "RFC 3339"),
        ("/pressure", {"start": "2023-11-14T22:00:00"}, "offset"),
        ("/pressure", {"offset": -1}, "offset"),
        ("/pressure", {"limit": 100_001}, "limit"),
        ("", {"metrics": "pressure", "bucket": "7x"}, "bucket"),
        ("", {"metrics": "pressure", "bucket": "2d"}, "bucket"),
        ("", {"metrics": "pressure", "fn": "median"}, "fn"),
        ("", {"metrics": "pressure;DROP TABLE points"}, "metric name"),
        ("/bad;name", {}, "metric name"),
        ("/pressure/export", {"format": "xlsx"}, "format"),
    ],
)
def test_bad_input_is_a_422_with_a_clear_message(
    client: Client, path: str, params: dict[str, object], message: str
) -> None:
    r = client.get(BASE + path, params=params)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid"
    assert message in r.json()["error"]["message"]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_streams_the_whole_range(client: Client, fmt: str) -> None:
    r = client.get(
        f"{BASE}/pressure/export", params={"format": fmt, "start": T0, "end": T0 + 7_200_000}
    )
    assert r.status_code == 200, r.text
    assert "attachment" in r.headers["content-disposition"]
    if fmt == "csv":
        lines = r.text.strip().splitlines()
        assert lines[0] == '"ts","value","text","quality"'
        assert len(lines) == 7201
    else:
        table = pq.read_table(io.BytesIO(r.content))
        assert table.num_rows == 7200
        assert table.column("ts").to_pylist()[-1] == T0 + 7_199_000


@pytest.mark.parametrize(("url", "params"), ENDPOINTS)
def test_every_endpoint_checks_credentials(
    client: Client, world: World, url: str, params: dict[str, object]
) -> None:
    assert client.get(url, params).status_code == 200  # acme's viewer reads
    assert client.get(url, params, world.a.keys["telemetry_write"]).status_code == 200
    assert client.get(url, params, {}).status_code == 401
    for foreign in (world.b.viewer, world.b.admin, world.b.keys["admin"]):
        r = client.get(url, params, foreign)
        assert r.status_code == 404, r.text  # another tenant's data does not exist for you
        assert "pressure" not in r.text
    r = client.get(url, params, world.a.keys["devices_read"])
    assert r.status_code == 403
    assert "scope" in r.json()["error"]["message"]
    user, password = world.a.device_auth
    basic = {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
    r = client.get(url, params, basic)
    assert r.status_code == 403
    assert "device credential" in r.json()["error"]["message"]
