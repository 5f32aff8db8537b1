"""The energy centre's hooks: daily / monthly reports over the meter hierarchy, the EnPI
against a stated baseline, and a job that writes each meter's ``enpi_ratio`` every 15 minutes
(a rule on it raises the drift alarm: the rules engine, not the app, alarms)."""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
from fastapi import APIRouter, Path, Query

from helan.api.deps import Reader
from helan.apps.builtin.energy import factors, tariff
from helan.apps.builtin.energy.compute import (
    INTERVAL_MS,
    MACHINE_TYPES,
    METER_TYPES,
    Series,
    baseline_for,
    enpi,
    hierarchy,
    intervals,
    load_machine,
    load_meter,
    node_figures,
    rollup,
)
from helan.apps.descriptors import AppManifest, ConsolePage
from helan.apps.hookspecs import hookimpl
from helan.apps.sdk import AppSDK, DerivedPoint, TenantScope
from helan.core.errors import ValidationFailed
from helan.jobs import Interval, JobSpec

ENPI_METRIC = "energy.enpi_ratio"
WRITE_EVERY_S = 900
DEFAULT_BASELINE_MS = 86_400_000  # without a stated period: the 24 h before the window
_HHMM = "^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"
CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "zone": {"type": "string", "minLength": 1, "maxLength": 64},
        "tariff": {
            "type": "object",
            "required": ["periods", "prices"],
            "additionalProperties": False,
            "properties": {
                "zone": {"type": "string", "minLength": 1, "maxLength": 64},
                "currency": {"type": "string", "minLength": 3, "maxLength": 3},
                "periods": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 96,
                    "items": {
                        "type": "array",
                        "prefixItems": [
                            {"type": "string", "pattern": _HHMM},
                            {"type": "string", "pattern": _HHMM},
                            {"enum": list(tariff.BANDS)},
                        ],
                        "minItems": 3,
                        "maxItems": 3,
                    },
                },
                "prices": {
                    "type": "object",
                    "propertyNames": {"enum": list(tariff.BANDS)},
                    "additionalProperties": {"type": "number", "minimum": 0, "maximum": 100},
                },
            },
        },
        "emission_factor": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "region": {"type": "string", "minLength": 1, "maxLength": 64},
                "year": {"type": "integer", "minimum": 2000, "maximum": 2100},
                "value": {"type": "number", "minimum": 0, "maximum": 5},
                "source": {"type": "string", "maxLength": 500},
            },
        },
        "baseline": {
            "type": "object",
            "required": ["start", "end"],
            "additionalProperties": False,
            "properties": {
                "start": {"type": "string", "format": "date"},
                "end": {"type": "string", "format": "date"},
            },
        },
        "meter_types": {"type": "array", "items": {"type": "string"}, "maxItems": 32},
        "machine_types": {"type": "array", "items": {"type": "string"}, "maxItems": 32},
    },
}


@hookimpl
def manifest() -> AppManifest:
    return AppManifest(
        name_zh="能源管理中心",
        name_en="Energy and emissions centre",
        version="1.0.0",
        description_zh="计量层级、分时电价与费用、单位产品能耗、ISO 50006 能源绩效参数与基准、"
        "碳排放（生态环境部电力排放因子）、功率因数、日报月报",
        description_en="Meter hierarchy, time-of-use cost, energy intensity, ISO 50006 EnPI "
        "and baseline, CO2 from MEE grid factors, power factor, daily and monthly reports",
        scopes=("energy:read",),
        config_schema=CONFIG_SCHEMA,
    )


def settings_of(config: dict[str, Any]) -> tuple[tariff.Tariff, factors.Factor]:
    try:
        return tariff.from_config(config), factors.from_config(config)
    except ValueError as exc:
        raise ValidationFailed(f"energy config: {exc}") from exc


def window(period: Literal["day", "month"], day: date, zone: str) -> tuple[int, int]:
    tz = ZoneInfo(zone)
    if period == "day":
        a = datetime(day.year, day.month, day.day, tzinfo=tz)
        b = a + timedelta(days=1)
    else:
        a = datetime(day.year, day.month, 1, tzinfo=tz)
        b = datetime(day.year + day.month // 12, day.month % 12 + 1, 1, tzinfo=tz)
    return int(a.timestamp() * 1000), int(b.timestamp() * 1000)


def baseline_window(config: dict[str, Any], start_ms: int, zone: str) -> tuple[int, int]:
    raw = config.get("baseline")
    if raw:
        a, _ = window("day", date.fromisoformat(raw["start"]), zone)
        _, b = window("day", date.fromisoformat(raw["end"]), zone)
        if b <= a:
            raise ValidationFailed("energy config: baseline end is before its start")
        return a, b
    return start_ms - DEFAULT_BASELINE_MS, start_ms


def _iso(ms: int, zone: str) -> str:
    return datetime.fromtimestamp(ms / 1000, ZoneInfo(zone)).isoformat(timespec="minutes")


async def _load(
    scope: TenantScope, config: dict[str, Any], start_ms: int, end_ms: int
) -> tuple[dict[str, Any], dict[str, Series], np.ndarray]:
    meter_types = tuple(config.get("meter_types", METER_TYPES))
    machine_types = tuple(config.get("machine_types", MACHINE_TYPES))
    devices = await scope.devices()
    nodes = hierarchy(await scope.assets(), devices, meter_types, machine_types)
    grid = intervals(start_ms - INTERVAL_MS, end_ms)
    data: dict[str, Series] = {}
    for d in devices:
        if d.enabled and d.device_type in meter_types:
            data[d.id] = await load_meter(scope, d.id, grid)
        elif d.enabled and d.device_type in machine_types:
            data[d.id] = await load_machine(scope, d.id, grid)
    return nodes, data, grid


async def tenant_report(
    scope: TenantScope, period: Literal["day", "month"], day: date
) -> dict[str, Any]:
    config = await scope.config()
    tar, fac = settings_of(config)
    start, end = window(period, day, tar.zone)
    nodes, data, grid = await _load(scope, config, start, end)
    b_start, b_end = baseline_window(config, start, tar.zone)
    b_nodes, b_data, b_grid = await _load(scope, config, b_start, b_end)
    out_nodes = []
    stated = (_iso(b_start, tar.zone), _iso(b_end, tar.zone))
    for node in rollup(nodes):
        fig = node_figures(node, data, grid, tar, fac)
        if node.meters and node.machines:
            b_fig = node_figures(b_nodes[node.id], b_data, b_grid, tar, fac)
            base, status = baseline_for(
                np.array(b_fig["series_kwh"]),
                _parts(b_nodes[node.id].machines, b_data, b_grid.size - 1),
                stated,
            )
            fig["baseline"] = {"status": status, **(base.as_dict() if base else {})}
            fig.update(
                enpi(base, np.array(fig["series_kwh"]), _parts(node.machines, data, grid.size - 1))
            )
        out_nodes.append(fig)
    return {
        "period": period,
        "date": day.isoformat(),
        "start": _iso(start, tar.zone),
        "end": _iso(end, tar.zone),
        "interval_s": INTERVAL_MS // 1000,
        "baseline_period": list(stated),
        "emission_factor": {
            "region": fac.region,
            "year": fac.year,
            "value_kg_per_kwh": fac.value,
            "source": fac.source,
            "scope": fac.scope,
        },
        "tariff": {"zone": tar.zone, "periods": tar.periods, "prices": tar.prices},
        "nodes": out_nodes,
    }


def _parts(machines: list[str], data: dict[str, Series], n: int) -> np.ndarray:
    """Output of ``machines`` per interval (``n`` intervals); zeros without machines."""
    out = np.zeros(n)
    for m in machines:
        p = data[m].parts
        if p is not None:
            out += np.nan_to_num(p)
    return out


@hookimpl
def routes(sdk: AppSDK) -> list[APIRouter]:
    router = APIRouter()

    @router.get("/tenants/{tenant}/report", summary="Daily or monthly energy report")
    async def energy_report(
        tenant: Annotated[str, Path()],
        principal: Reader,
        period: Literal["day", "month"] = "day",
        day: Annotated[date | None, Query(alias="date")] = None,
    ) -> dict[str, Any]:
        scope = sdk.tenant(tenant)
        if day is not None and not date(2000, 1, 1) <= day <= date(2100, 1, 1):
            raise ValidationFailed("date must be between 2000-01-01 and 2100-01-01")
        if day is None:
            zone = settings_of(await scope.config())[0].zone
            day = datetime.now(ZoneInfo(zone)).date()
        return await tenant_report(scope, period, day)

    @router.get("/emission-factors", summary="The published grid emission factors held as data")
    async def emission_factors(principal: Reader) -> dict[str, Any]:
        return {"unit": "kgCO2/kWh", "items": [asdict(f) for f in factors.published()]}

    return [router]


async def write_enpi(sdk: AppSDK, now_ms: int | None = None) -> int:
    """Each meter's EnPI ratio over the last hour (measured / expected from its baseline
    against the output of the plant it feeds) as ``enpi_ratio``; none without a baseline."""
    now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    end = now // INTERVAL_MS * INTERVAL_MS
    start = end - 4 * INTERVAL_MS
    written = 0
    for tenant in sorted(sdk.tenants()):
        scope = sdk.tenant(tenant)
        config = await scope.config()
        tar, _ = settings_of(config)
        b_start, b_end = baseline_window(config, start, tar.zone)
        nodes, data, grid = await _load(scope, config, start, end)
        b_nodes, b_data, b_grid = await _load(scope, config, b_start, b_end)
        stated = (_iso(b_start, tar.zone), _iso(b_end, tar.zone))
        points: list[DerivedPoint] = []
        for node in rollup(nodes):
            if node.parent is not None or not node.machines:
                continue  # one output per plant: the site's machines
            for meter in node.meters:
                b_kwh, kwh = b_data[meter].kwh, data[meter].kwh
                if b_kwh is None or kwh is None:
                    continue
                base, _status = baseline_for(
                    b_kwh, _parts(b_nodes[node.id].machines, b_data, b_grid.size - 1), stated
                )
                ratio = enpi(base, kwh, _parts(node.machines, data, grid.size - 1))["enpi_ratio"]
                if ratio is not None and np.isfinite(ratio):
                    points.append(
                        DerivedPoint(device=meter, metric=ENPI_METRIC, ts=end, value=ratio)
                    )
        written += await scope.write_metrics(points)
    return written


@hookimpl
def scheduled_jobs(sdk: AppSDK) -> list[JobSpec]:
    async def run() -> None:
        await write_enpi(sdk)

    return [JobSpec(id="enpi", trigger=Interval(seconds=WRITE_EVERY_S), run=run)]


@hookimpl
def console_pages() -> list[ConsolePage]:
    return [
        ConsolePage(
            id="energy", title_zh="能源管理中心", title_en="Energy centre", module="energy.js"
        )
    ]


@hookimpl
def scope_families() -> list[str]:
    return ["energy"]
