"""The OEE app's hooks: a report route, a console page and a job writing ``oee.*`` metrics."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from helan.api.deps import Reader
from helan.apps.builtin.equipment.shifts import Shift, ShiftCalendar
from helan.apps.builtin.oee.compute import MACHINE_TYPES, is_machine, load, report
from helan.apps.descriptors import AppManifest, ConsolePage
from helan.apps.hookspecs import hookimpl
from helan.apps.sdk import AppSDK, DerivedPoint, TenantScope
from helan.core.errors import ValidationFailed
from helan.jobs import Interval, JobSpec

MAX_WINDOW_MS = 86_400_000
DEFAULT_WINDOW_MS = 8 * 3_600_000
WRITE_EVERY_S = 300
METRICS = ("availability", "performance", "quality", "oee", "health")

_SHIFT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "start", "end"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 32},
        "start": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"},
        "end": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"},
        "breaks": {
            "type": "array",
            "maxItems": 8,
            "items": {
                "type": "array",
                "minItems": 2,
                "maxItems": 2,
                "items": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"},
            },
        },
    },
}
CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "zone": {"type": "string", "minLength": 1, "maxLength": 64},
        "shifts": {"type": "array", "minItems": 1, "maxItems": 6, "items": _SHIFT_SCHEMA},
        "workdays": {
            "type": "array",
            "items": {"type": "integer", "minimum": 0, "maximum": 6},
            "uniqueItems": True,
        },
        "machine_types": {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": 64},
            "maxItems": 32,
        },
    },
}


@hookimpl
def manifest() -> AppManifest:
    return AppManifest(
        name_zh="设备综合效率 OEE",
        name_en="OEE",
        version="1.0.0",
        description_zh="按 ISO 22400-2 计算机台、产线、班次的可用率、性能、质量与 OEE，"
        "六大损失、MTBF、MTTR",
        description_en="ISO 22400-2 availability, performance, quality and OEE per machine, "
        "line and shift; six big losses, MTBF, MTTR",
        scopes=("oee:read",),
        config_schema=CONFIG_SCHEMA,
    )


def calendar_of(config: dict[str, Any]) -> ShiftCalendar:
    """The tenant's shift calendar (its app config), the default three shifts otherwise."""
    kwargs: dict[str, Any] = {}
    if "zone" in config:
        kwargs["zone"] = config["zone"]
    if "shifts" in config:
        kwargs["shifts"] = tuple(
            Shift(
                name=s["name"],
                start=s["start"],
                end=s["end"],
                breaks=tuple((a, b) for a, b in s.get("breaks", ())),
            )
            for s in config["shifts"]
        )
    if "workdays" in config:
        kwargs["workdays"] = frozenset(config["workdays"])
    try:
        return ShiftCalendar(**kwargs)
    except ValueError as exc:
        raise ValidationFailed(f"oee config: {exc}") from exc


async def tenant_report(scope: TenantScope, start_ms: int, end_ms: int) -> dict[str, Any]:
    config = await scope.config()
    calendar = calendar_of(config)
    types = tuple(config.get("machine_types", MACHINE_TYPES))
    machines = [d for d in await scope.devices() if is_machine(d, types)]
    data = [await load(scope, d, start_ms, end_ms) for d in machines]
    return await asyncio.to_thread(report, data, start_ms, end_ms, calendar)


@hookimpl
def routes(sdk: AppSDK) -> list[APIRouter]:
    router = APIRouter()

    @router.get("/tenants/{tenant}/report", summary="OEE per machine, line and shift")
    async def oee_report(
        tenant: Annotated[str, Path()],
        principal: Reader,
        start_ms: Annotated[int | None, Query(ge=0, le=2**53)] = None,
        end_ms: Annotated[int | None, Query(ge=1, le=2**53)] = None,
    ) -> dict[str, Any]:
        scope = sdk.tenant(tenant)
        end = end_ms if end_ms is not None else time.time_ns() // 1_000_000
        start = start_ms if start_ms is not None else end - DEFAULT_WINDOW_MS
        if not 0 < end - start <= MAX_WINDOW_MS:
            raise ValidationFailed("end_ms must be after start_ms, by at most 24 h")
        return await tenant_report(scope, start, end)

    return [router]


async def write_current(sdk: AppSDK, now_ms: int | None = None) -> int:
    """Each tenant's machines' figures of the shift in progress as ``oee.*`` metrics."""
    now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    written = 0
    for tenant in sorted(sdk.tenants()):
        scope = sdk.tenant(tenant)
        calendar = calendar_of(await scope.config())
        current = [i for i in calendar.instances(now - 1, now) if i.start_ms < now]
        start = current[-1].start_ms if current else now - DEFAULT_WINDOW_MS
        result = await tenant_report(scope, start, now)
        points = [
            DerivedPoint(device=m["device"], metric=f"oee.{name}", ts=now, value=float(m[name]))
            for m in result["machines"]
            for name in METRICS
            if m.get(name) is not None
        ]
        written += await scope.write_metrics(points)
    return written


@hookimpl
def scheduled_jobs(sdk: AppSDK) -> list[JobSpec]:
    async def run() -> None:
        await write_current(sdk)

    return [JobSpec(id="write", trigger=Interval(seconds=WRITE_EVERY_S), run=run)]


@hookimpl
def console_pages() -> list[ConsolePage]:
    return [ConsolePage(id="oee", title_zh="设备综合效率", title_en="OEE", module="oee.js")]


@hookimpl
def scope_families() -> list[str]:
    return ["oee"]
