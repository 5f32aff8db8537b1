"""``helan bench apps``: the OEE and energy apps over 30 days of machine and meter data in the
store, against the store's own aggregate of the same data, and the anomaly app's cost to the
ingest (``ingest_ratio``, from ``helan.bench.apps_inference`` when that module exists).

The data is generated in bulk (numpy, straight into the DuckDB store through
``TelemetryStore.write``, not over MQTT): per machine a state (run / idle / down dwell times
drawn around the simulator's means), a part counter (one part per ideal cycle while running,
with a counter reset on day 10) and a reject counter; per meter (one per ten machines, on the
machines' line) a cumulative kWh counter and active / reactive power. ``oee_30d_s`` times the
OEE app's report of every machine over the 30 days (timeline, counters, ISO 22400 figures,
per line and per shift); ``energy_30d_s`` the energy app's month report (15-minute intervals
over the meter hierarchy, tariff, CO2, baseline). The baseline is the store's aggregate query
of the same series (daily count / min / max of every device's metrics): reading the data once.
The issue's scale is 1,000 machines at 1 Hz (2.6 billion points a metric); the default here is
``--machines 100 --sample-s 60`` (the machine has two shared cores): the JSON says the scale.
"""

from __future__ import annotations

import asyncio
import importlib
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pyarrow as pa
import typer

from helan.apps.builtin.energy import app as energy
from helan.apps.builtin.oee import app as oee
from helan.apps.installs import AppInstalls
from helan.apps.sdk import AppSDK, AppServices
from helan.config import Settings
from helan.core.points import POINT_SCHEMA
from helan.ingest.live import LiveState
from helan.ingest.pipeline import IngestPipeline
from helan.jobs import Scheduler
from helan.observe.report import report
from helan.storage.meta import MetaStore
from helan.storage.meta.events import EventStore
from helan.storage.meta.models import Asset, Device, DeviceType, Tenant
from helan.storage.telemetry import open_store
from helan.storage.telemetry.base import AggQuery

TENANT = "bench"
MONTH = date(2026, 6, 1)  # June: 30 days
DAY_MS = 86_400_000
MEAN_DWELL_S = {"run": 1500.0, "idle": 240.0, "down": 720.0}


def _table(device: str, metric: str, ts: np.ndarray, values: Any, texts: Any = None) -> pa.Table:
    n = ts.size
    return pa.Table.from_arrays(
        [
            pa.array([TENANT] * n, pa.string()),
            pa.array([device] * n, pa.string()),
            pa.array([metric] * n, pa.string()),
            pa.array(ts, pa.int64()),
            pa.array(values, pa.float64()) if values is not None else pa.nulls(n, pa.float64()),
            pa.array(texts, pa.string()) if texts is not None else pa.nulls(n, pa.string()),
            pa.array(np.zeros(n, np.int8), pa.int8()),
        ],
        schema=POINT_SCHEMA,
    )


def machine_series(
    rng: np.random.Generator, ts: np.ndarray, sample_s: int, cycle_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    span = float(ts[-1] - ts[0]) / 1000 + sample_s
    names = np.array(["run", "idle", "down"])
    order, starts, t, cur = [], [], 0.0, 0
    while t < span:
        order.append(cur)
        starts.append(t)
        t += 20 + rng.exponential(MEAN_DWELL_S[names[cur]])
        cur = {0: rng.choice([1, 2], p=[0.88, 0.12]), 1: rng.choice([0, 2], p=[0.95, 0.05]), 2: 1}[
            cur
        ]
    rel = (ts - ts[0]) / 1000
    idx = np.searchsorted(np.array(starts), rel, side="right") - 1
    state = names[np.array(order)[idx]]
    running = (state == "run").astype(np.float64) * sample_s
    parts = np.floor(np.cumsum(running) / cycle_s)
    rejects = np.floor(parts * 0.01)
    reset = rel >= 10 * 86_400
    parts = np.where(reset, parts - parts[np.argmax(reset)], parts)  # the PLC restarted on day 10
    return state, parts, rejects


def generate(
    services: AppServices, machines: int, sample_s: int, start_ms: int, end_ms: int
) -> int:
    rng = np.random.default_rng(2026)
    meters = max(1, machines // 10)
    with services.meta.session() as s:
        s.add(Tenant(id=TENANT, name="Bench"))
        s.flush()
        for ty in ("cnc-machine", "power-meter"):
            s.add(DeviceType(tenant_id=TENANT, id=ty, name=ty))
        s.add(Asset(tenant_id=TENANT, id="site", name="Site", kind="site"))
        s.flush()
        for line in range(meters):
            s.add(
                Asset(
                    tenant_id=TENANT,
                    id=f"line-{line}",
                    name=f"L{line}",
                    kind="line",
                    parent_id="site",
                )
            )
        s.flush()
        for i in range(machines):
            s.add(
                Device(
                    tenant_id=TENANT,
                    id=f"m-{i:04d}",
                    name=f"M{i}",
                    device_type_id="cnc-machine",
                    asset_id=f"line-{i % meters}",
                    credential_hash="x",
                    attributes={"ideal_cycle_s": 60.0 + i % 60},
                )
            )
        for j in range(meters):
            s.add(
                Device(
                    tenant_id=TENANT,
                    id=f"meter-{j:03d}",
                    name=f"E{j}",
                    device_type_id="power-meter",
                    asset_id=f"line-{j}",
                    credential_hash="x",
                )
            )
    ts = np.arange(start_ms, end_ms, sample_s * 1000, dtype=np.int64)
    written = 0
    for i in range(machines):
        state, parts, rejects = machine_series(rng, ts, sample_s, 60.0 + i % 60)
        d = f"m-{i:04d}"
        for table in (
            _table(d, "state", ts, None, state.tolist()),
            _table(d, "part_count", ts, parts),
            _table(d, "reject_count", ts, rejects),
        ):
            written += services.telemetry.write(table)
    hour = (ts // 3_600_000) % 24
    for j in range(meters):
        kw = 200 + 150 * np.sin(hour / 24 * 2 * np.pi) + rng.normal(0, 5, ts.size)
        kwh = np.cumsum(np.clip(kw, 0, None) * sample_s / 3600)
        d = f"meter-{j:03d}"
        for metric, values in (
            ("energy_total", kwh),
            ("active_power", kw),
            ("reactive_power", kw * 0.4),
        ):
            written += services.telemetry.write(_table(d, metric, ts, values))
    return written


def baseline_s(
    services: AppServices, devices: list[str], metrics: list[str], a: int, b: int
) -> float:
    t = time.perf_counter()
    for d in devices:
        for fn in ("count", "min", "max"):
            services.telemetry.aggregate(
                AggQuery(
                    tenant=TENANT,
                    device=d,
                    metrics=metrics,
                    start_ms=a,
                    end_ms=b,
                    bucket_ms=DAY_MS,
                    fn=fn,
                )
            )
    return time.perf_counter() - t


async def _bench(machines: int, sample_s: int, folder: Path) -> dict[str, object]:
    settings = Settings(data_dir=folder)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    meta = MetaStore(settings.metadata_url)
    meta.migrate()
    telemetry = open_store(settings)
    live = LiveState(offline_after_s=60)
    pipeline = IngestPipeline(telemetry, live, settings, events=EventStore(meta))
    services = AppServices(
        meta=meta,
        telemetry=telemetry,
        live=live,
        ingest=pipeline,
        scheduler=Scheduler(),
        installs=AppInstalls(meta),
    )
    tz_shift = 8 * 3_600_000  # the month in Asia/Shanghai
    start = int(np.datetime64(MONTH.isoformat(), "ms").astype(np.int64)) - tz_shift
    end = start + 30 * DAY_MS
    t = time.perf_counter()
    points = await asyncio.to_thread(
        generate, services, machines, sample_s, start - DAY_MS - 900_000, end
    )
    gen_s = time.perf_counter() - t
    for app_id in ("oee", "energy"):
        services.installs.install(TENANT, app_id)
    t = time.perf_counter()
    oee_report = await oee.tenant_report(AppSDK("oee", services).tenant(TENANT), start, end)
    oee_s = time.perf_counter() - t
    t = time.perf_counter()
    energy_report = await energy.tenant_report(
        AppSDK("energy", services).tenant(TENANT), "month", MONTH
    )
    energy_s = time.perf_counter() - t
    machine_ids = [f"m-{i:04d}" for i in range(machines)]
    meter_ids = [f"meter-{j:03d}" for j in range(max(1, machines // 10))]
    base_oee = await asyncio.to_thread(
        baseline_s, services, machine_ids, ["part_count", "reject_count"], start, end
    )
    base_energy = await asyncio.to_thread(
        baseline_s,
        services,
        meter_ids,
        ["energy_total", "active_power", "reactive_power"],
        start,
        end,
    )
    telemetry.close()
    meta.close()
    site = energy_report["nodes"][0]
    return {
        "machines": machines,
        "meters": len(meter_ids),
        "days": 30,
        "sample_s": sample_s,
        "points": points,
        "generate_s": round(gen_s, 2),
        "oee_30d_s": round(oee_s, 3),
        "oee_baseline_s": round(base_oee, 3),
        "oee_ratio": round(oee_s / base_oee, 2) if base_oee else None,
        "energy_30d_s": round(energy_s, 3),
        "energy_baseline_s": round(base_energy, 3),
        "energy_ratio": round(energy_s / base_energy, 2) if base_energy else None,
        "plant_oee": oee_report["lines"][0]["oee"] if oee_report["lines"] else None,
        "site_kwh": round(site["kwh"], 1),
    }


def _ingest_ratio() -> tuple[object, str]:
    try:
        module = importlib.import_module("helan.bench.apps_inference")
    except ModuleNotFoundError:
        return None, "helan.bench.apps_inference is not there yet: not measured"
    figures = module.ingest_ratio_figures()
    return figures.get("ingest_ratio"), "anomaly app on every pump vs without (ingest-mqtt load)"


def run(
    machines: Annotated[
        int, typer.Option(min=1, max=1000, help="Machines (meters: one per ten).")
    ] = 100,
    sample_s: Annotated[
        int, typer.Option(min=1, max=600, help="Sample period of every series.")
    ] = 60,
) -> None:
    """OEE and energy over 30 days from the store, against the store's aggregate of the data."""
    with tempfile.TemporaryDirectory(prefix="helan-bench-apps-") as tmp:
        figures = asyncio.run(_bench(machines, sample_s, Path(tmp)))
    ratio, note = _ingest_ratio()
    figures["ingest_ratio"] = ratio
    notes = {
        "oee_30d_s": "OEE app: every machine's 30-day report (timeline, counters, lines, shifts)",
        "oee_baseline_s": "the store's daily count/min/max of the same machines' counters",
        "energy_30d_s": "energy app: month report (15-min intervals, hierarchy, tariff, baseline)",
        "energy_baseline_s": "the store's daily count/min/max of the same meters' series",
        "ingest_ratio": note,
    }
    report("apps: OEE and energy over 30 days from the store", figures, notes)
