"""Table exports of one device through the real app: CSV (streamed, UTF-8 with BOM, one column
per metric, formula-looking text defused) and XLSX (a real workbook), raw and by interval, and
the refusals: too many rows, bad metric names, an unknown device, another tenant."""

from __future__ import annotations

import csv
import io
import re
import sys
import zipfile
from pathlib import Path

import orjson
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from meta_world import World, world

from helan.reports import tables

__all__ = ["world"]

T0 = 1_760_000_000_000  # fixed epoch ms
URL = "/api/v1/tenants/acme/devices/pump-1/telemetry:export"


def _seed(w: World) -> None:
    if getattr(w, "_seeded", False):
        return
    rows = [
        {"device": "pump-1", "metric": "temp", "ts": T0 + i * 1000, "value": 20.0 + i}
        for i in range(120)
    ]
    r = w.api.client.post(
        "/api/v1/tenants/acme/ingest",
        content=orjson.dumps(rows),
        headers={**w.a.operator, "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    w._seeded = True  # type: ignore[attr-defined]


def test_csv_raw_and_by_interval(world: World) -> None:
    _seed(world)
    c = world.api.client
    r = c.get(
        URL, params={"metrics": "temp", "from": T0, "to": T0 + 120_000}, headers=world.a.viewer
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    text = r.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0] == ["time (UTC)", "temp (°C)"]
    assert len(rows) == 121
    assert rows[1] == ["2025-10-09T08:53:20.000Z", "20.0"]
    by_minute = c.get(
        URL,
        params={"metrics": "temp", "from": T0, "to": T0 + 120_000, "interval": "1m", "fn": "max"},
        headers=world.a.viewer,
    )
    assert by_minute.status_code == 200, by_minute.text
    minute_rows = list(csv.reader(io.StringIO(by_minute.content.decode()[1:])))
    assert len(minute_rows) in (3, 4)  # 120 s over minute buckets: two or three buckets
    assert float(minute_rows[-1][1]) == 139.0


def test_xlsx_is_a_workbook(world: World) -> None:
    _seed(world)
    r = world.api.client.get(
        URL,
        params={"metrics": "temp", "format": "xlsx", "from": T0, "to": T0 + 120_000},
        headers=world.a.viewer,
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    with zipfile.ZipFile(io.BytesIO(r.content)) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        assert "xl/workbook.xml" in book.namelist()
    assert len(re.findall(r"<row ", sheet)) == 121
    assert "<v>139</v>" in sheet


def test_formula_text_is_defused() -> None:
    table = tables.SeriesTable("d", ["m"], [None], 0, 1, None, None, [[0, "=1+1"], [1, "ok"]])
    out = b"".join(tables.csv_chunks(table)).decode()
    assert "'=1+1" in out


def test_refusals(world: World) -> None:
    _seed(world)
    c = world.api.client
    h = world.a.viewer
    platform = world.api.platform
    ref = platform.directory.lookup("acme", "pump-1")
    args = (platform.telemetry, ref, "acme", "pump-1", ["temp"], T0, T0 + 120_000)
    assert len(tables.series_table(*args, max_rows=120).rows) == 120  # exactly the bound
    with pytest.raises(tables.TooManyRows, match="give an interval"):
        tables.series_table(*args, max_rows=119)
    year = c.get(
        URL,
        params={"metrics": "temp", "from": T0 - 400 * 86_400_000, "to": T0, "interval": "1s"},
        headers=h,
    )
    assert year.status_code == 422
    assert year.json()["error"]["code"] == "export_too_large"
    assert "coarser interval" in year.json()["error"]["message"]
    assert c.get(URL, params={"metrics": "1bad"}, headers=h).status_code == 422
    assert c.get(URL, params={"metrics": ""}, headers=h).status_code == 422
    assert (
        c.get(URL, params={"metrics": ",".join(f"m{i}" for i in range(21))}, headers=h).status_code
        == 422
    )
    assert c.get(URL, params={"metrics": "temp", "format": "pdf"}, headers=h).status_code == 422
    assert c.get(URL, params={"metrics": "temp", "from": "yesterday"}, headers=h).status_code == 422
    assert (
        c.get(URL, params={"metrics": "temp", "from": T0, "to": T0}, headers=h).status_code == 422
    )
    assert c.get(URL, params={"metrics": "temp", "interval": "5x"}, headers=h).status_code == 422
    ghost = URL.replace("pump-1", "ghost")
    assert c.get(ghost, params={"metrics": "temp"}, headers=h).status_code == 404
    assert c.get(URL, params={"metrics": "temp"}, headers=world.b.viewer).status_code == 404
    assert c.get(URL, params={"metrics": "temp"}).status_code == 401
