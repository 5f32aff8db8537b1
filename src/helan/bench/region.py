"""``helan bench region``: the regional indicators over a large platform.

A fresh PostgreSQL database gets, in bulk SQL (not the API): ``--tenants`` tenants spread over
Ningxia's counties and every prefecture of the shipped GB/T 2260 list, with GB/T 4754
divisions; ``--devices`` devices (all with an industrial identifier) and as many products
with identifiers as make ``--identifiers`` in all; an online event per device (a tenth also
went offline, half of those more than 30 days ago); two app installs per tenant.

- ``indicators_s``: the daily job (:func:`helan.services.region_indicators.refresh`: the
  grouped queries, the roll-up per division and industry, the day's rows replaced); the
  in-run baseline is the bare SQL counts of the same tables (``baseline_counts_s``).
- ``indicator_api_p99_ms``: ``GET /api/v1/regions/{region}/indicators`` through FastAPI's
  routing, validation and serialisation (authentication overridden with a platform
  administrator), over provinces, prefectures, counties and industries; the baseline is the
  bare SELECT of one region's stored rows.
"""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Annotated

import psycopg
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient

from helan.api import errors
from helan.api.deps import current_principal, get_meta
from helan.api.routers import region_indicators
from helan.observe.report import report
from helan.region.divisions import divisions
from helan.region.industries import industries
from helan.security.principal import Principal, Role
from helan.services import region_indicators as ind
from helan.storage.meta import MetaStore

DAY_MS = 86_400_000


def _regions() -> list[str]:
    table = divisions()
    counties = [c for c, d in table.items() if d.level == "county" and c.startswith("64")]
    prefectures = [c for c, d in table.items() if d.level == "prefecture"]
    return counties + prefectures


def _load(url: str, tenants: int, devices: int, identifiers: int) -> dict[str, float]:
    regions = _regions()
    inds = [c for c, i in industries().items() if c != i.section]
    per = max(1, devices // tenants)
    products = max(0, identifiers - tenants * per)
    now = int(time.time() * 1000)
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as db:
        # Bulk load without the foreign-key triggers (the rows are consistent by construction):
        # 9 million per-row tenant lookups would make the load, not the bench, the long part.
        db.execute("SET session_replication_role = replica")
        # Secondary indexes are built once after the load (a sort) instead of row by row.
        secondary = db.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('products', 'devices')"
            " AND indexname LIKE 'ix_%%'"
        ).fetchall()
        for index, _ in secondary:
            db.execute(f'DROP INDEX "{index}"')
        db.execute(
            "INSERT INTO tenants (id, name, region, industry_code, status, retention_days,"
            " allow_auto_create, created_at, updated_at)"
            " SELECT 't' || i, 'Tenant ' || i, (%(r)s::text[])[1 + i %% %(nr)s],"
            " (%(ind)s::text[])[1 + (i * 7) %% %(ni)s],"
            " CASE WHEN i %% 50 = 0 THEN 'suspended' ELSE 'active' END, 365, false, now(), now()"
            " FROM generate_series(0, %(t)s - 1) i",
            {"r": regions, "nr": len(regions), "ind": inds, "ni": len(inds), "t": tenants},
        )
        db.execute(
            "INSERT INTO devices (tenant_id, id, name, identifier, enabled, attributes,"
            " credential_hash, credential_rotated_at, created_at, updated_at)"
            " SELECT 't' || (i / %(per)s), 'd' || (i %% %(per)s), 'device', '88.999.' || i,"
            " true, '{}', 'x', now(), now(), now() FROM generate_series(0, %(n)s - 1) i",
            {"per": per, "n": tenants * per},
        )
        if products:
            db.execute(
                "INSERT INTO products (tenant_id, id, name, kind, identifier, attributes,"
                " created_at, updated_at)"
                " SELECT 't' || (i %% %(t)s), 'p' || i, 'unit', 'unit', '88.998.' || i, '{}',"
                " now(), now() FROM generate_series(0, %(n)s - 1) i",
                {"t": tenants, "n": products},
            )
        db.execute(
            "INSERT INTO device_events"
            " (tenant_id, device_id, ts, event, level, data, received_at)"
            " SELECT 't' || (i / %(per)s), 'd' || (i %% %(per)s),"
            " %(now)s::bigint - (i %% 90)::bigint * %(day)s,"
            " 'device_online', 'info', '{}', now() FROM generate_series(0, %(n)s - 1) i",
            {"per": per, "n": tenants * per, "now": now, "day": DAY_MS},
        )
        db.execute(
            "INSERT INTO device_events"
            " (tenant_id, device_id, ts, event, level, data, received_at)"
            " SELECT 't' || (i / %(per)s), 'd' || (i %% %(per)s),"
            " %(now)s::bigint - (i %% 90)::bigint * %(day)s"
            " + 3600000::bigint * (1 + i %% 700), 'device_offline',"
            " 'warning', '{}', now() FROM generate_series(0, %(n)s - 1, 10) i",
            {"per": per, "n": tenants * per, "now": now, "day": DAY_MS},
        )
        db.execute(
            "INSERT INTO app_installs (tenant_id, app_id, enabled, installed_at)"
            " SELECT 't' || i, a, true, now() FROM generate_series(0, %(t)s - 1) i,"
            " unnest(ARRAY['data_quality', 'oee']) a",
            {"t": tenants},
        )
        for _, definition in secondary:
            db.execute(definition)
        db.execute("ANALYZE")
    return {"load_s": round(time.perf_counter() - started, 1), "products": float(products)}


def _baseline_counts(url: str) -> float:
    started = time.perf_counter()
    with psycopg.connect(url) as db:
        for sql in (
            "SELECT count(*) FROM tenants",
            "SELECT count(*) FROM devices WHERE identifier IS NOT NULL",
            "SELECT count(*) FROM products WHERE identifier IS NOT NULL",
            "SELECT count(*) FROM device_events",
            "SELECT count(*) FROM app_installs WHERE enabled",
        ):
            db.execute(sql).fetchone()
    return time.perf_counter() - started


def _app(meta: MetaStore) -> FastAPI:
    app = FastAPI()
    errors.install(app)
    app.include_router(region_indicators.router)
    admin = Principal(kind="user", subject="bench", tenant=None, role=Role.PLATFORM_ADMIN)
    app.dependency_overrides[current_principal] = lambda: admin
    app.dependency_overrides[get_meta] = lambda: meta
    return app


def _p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98] * 1000


def run(
    tenants: Annotated[int, typer.Option(help="Tenants.")] = 10_000,
    devices: Annotated[int, typer.Option(help="Devices (spread evenly over the tenants).")] = (
        1_000_000
    ),
    identifiers: Annotated[int, typer.Option(help="Identifiers (devices + products).")] = (
        10_000_000
    ),
    requests: Annotated[int, typer.Option(help="API requests for the p99.")] = 400,
    pg_url: Annotated[str, typer.Option(help="PostgreSQL server (a database is made).")] = (
        "postgresql://postgres@127.0.0.1:5432/postgres"
    ),
) -> None:
    """Daily indicator job and indicator API over a platform-sized database."""
    name = f"helan_bench_region_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{pg_url.rsplit('/', 1)[0]}/{name}"
    meta = MetaStore(url)
    try:
        meta.migrate()
        loaded = _load(url, tenants, devices, identifiers)
        baseline = min(_baseline_counts(url) for _ in range(2))
        started = time.perf_counter()
        rows = ind.refresh(meta)
        job_s = time.perf_counter() - started
        codes = ["640000", "640100", "640122", "110000", "330100", "440300", "650000"]
        queries = [f"/api/v1/regions/{c}/indicators" for c in codes]
        queries += [f"/api/v1/regions/640000/indicators?industry={x}" for x in ("C", "34")]
        client = TestClient(_app(meta))
        api, bare = [], []
        with psycopg.connect(url) as db:
            for i in range(requests):
                q = queries[i % len(queries)]
                t0 = time.perf_counter()
                r = client.get(q)
                api.append(time.perf_counter() - t0)
                assert r.status_code == 200, r.text
                code = q.split("/")[4]
                t0 = time.perf_counter()
                db.execute(
                    "SELECT region, industry, indicator, value FROM region_indicator_values"
                    " WHERE day = (SELECT max(day) FROM region_indicator_values WHERE region = %s)"
                    " AND region LIKE %s",
                    (code, code.rstrip("0")[:6] + "%"),
                ).fetchall()
                bare.append(time.perf_counter() - t0)
        total = client.get("/api/v1/regions/640000/indicators").json()["total"]["values"]
    finally:
        meta.engine.dispose()
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    p99, bare_p99 = _p99(api), _p99(bare)
    report(
        "region: daily indicator job and indicator API (PostgreSQL metadata)",
        {
            "tenants": tenants,
            "devices": tenants * max(1, devices // tenants),
            "identifiers": tenants * max(1, devices // tenants) + int(loaded["products"]),
            "load_s": loaded["load_s"],
            "rows_stored": rows,
            "indicators_s": round(job_s, 2),
            "baseline_counts_s": round(baseline, 2),
            "indicators_ratio": round(job_s / baseline, 2),
            "indicator_api_p99_ms": round(p99, 1),
            "indicator_api_p50_ms": round(statistics.median(api) * 1000, 1),
            "baseline_select_p99_ms": round(bare_p99, 2),
            "indicator_api_ratio": round(p99 / bare_p99, 1),
            "ningxia_enterprises_on_cloud": total["enterprises_on_cloud"],
        },
        {
            "load_s": "bulk SQL generate_series, not timed in the figures below",
            "indicators_s": "refresh(): grouped queries + roll-up + the day's rows; target <= 60",
            "baseline_counts_s": "bare count(*) of tenants, identifiers, events, installs",
            "indicator_api_p99_ms": "HTTP through FastAPI in-process; target <= 200",
            "baseline_select_p99_ms": "the bare SELECT of a region's stored rows",
        },
    )
