"""The forecast app's hooks. Once per 15-minute slot, for each meter (a device reporting
``active_power``) of each installing tenant, it forecasts the next 24 hours from the meter's own
15-minute means and writes ``forecast.kw``: at the slot that has just begun, the value the oldest
forecast still covering it gave (up to a day ahead). The job runs every minute so a new meter
gets its first forecast within a minute; a meter already forecast in this slot is skipped. The
ingest refuses points more than minutes in the future, so the coming day's slots are kept in
the app and served to the console page rather than written. State lives per SDK."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Path

from helan.api.deps import Reader
from helan.apps.builtin.forecast import live
from helan.apps.descriptors import AppManifest, ConsolePage
from helan.apps.hookspecs import hookimpl
from helan.apps.sdk import AppSDK, DerivedPoint, TenantScope
from helan.jobs import Interval, JobSpec
from helan.models.forecast import model as fm
from helan.models.forecast.data import SLOTS_PER_DAY

METRIC = "forecast.kw"
POWER = "active_power"
EVERY_S = 60
SLOT_MS = live.SLOT_MS


def registry_root() -> FilePath:
    """Where the live model is stored: the platform's registry (``{data_dir}/models``)."""
    from helan.config import Settings

    return Settings().data_dir / "models"


@dataclass
class AppState:
    root: FilePath
    model: fm.ForecastModel | None = None
    version: int | None = None
    preparing: asyncio.Task[None] | None = None
    # (tenant, device) -> forecasts issued, oldest first: (first slot ms, 96 kW values)
    issued: dict[tuple[str, str], deque[tuple[int, np.ndarray]]] = field(default_factory=dict)

    async def ready(self) -> fm.ForecastModel:
        if self.model is None:
            if self.preparing is None:
                self.preparing = asyncio.create_task(self._prepare())
            await asyncio.shield(self.preparing)
        assert self.model is not None
        return self.model

    async def _prepare(self) -> None:
        self.model, self.version = await asyncio.to_thread(live.load_or_train, self.root)


_STATE: weakref.WeakKeyDictionary[AppSDK, AppState] = weakref.WeakKeyDictionary()


def state(sdk: AppSDK) -> AppState:
    found = _STATE.get(sdk)
    if found is None:
        found = _STATE[sdk] = AppState(root=registry_root())
    return found


async def meters(scope: TenantScope) -> list[str]:
    """The tenant's enabled devices that report active power."""
    found = []
    for device in await scope.devices():
        if device.enabled and POWER in await scope.latest(device.id):
            found.append(device.id)
    return found


async def forecast_meter(
    sdk: AppSDK, scope: TenantScope, device: str, now_ms: int
) -> DerivedPoint | None:
    """Issue a 24-hour forecast for one meter from its history up to now (the current slot's
    mean so far included), for the slots after the current one; the point to write for the
    current slot from the oldest forecast covering it (None when there is none, or when this
    slot was done already)."""
    st = state(sdk)
    current = now_ms // SLOT_MS * SLOT_MS
    issued = st.issued.setdefault((scope.tenant, device), deque(maxlen=SLOTS_PER_DAY + 1))
    if issued and issued[-1][0] > current:
        return None
    model = await st.ready()
    slots = live.HISTORY_DAYS * SLOTS_PER_DAY
    start = current - (slots - 1) * SLOT_MS
    buckets = await scope.aggregate(device, [POWER], start, now_ms + 1, bucket_ms=SLOT_MS)
    y = live.grid(buckets, start, slots)
    values = await asyncio.to_thread(live.forecast, model, y, start)
    if issued and issued[-1][0] > current:
        return None  # another run issued this slot while this one waited
    if np.isfinite(values).all():
        issued.append((current + SLOT_MS, values))
    while issued and issued[0][0] + SLOTS_PER_DAY * SLOT_MS <= current:
        issued.popleft()  # no longer covers the current slot
    if not issued or issued[0][0] > current:
        return None
    first, oldest = issued[0]
    value = float(oldest[(current - first) // SLOT_MS])
    return DerivedPoint(device=device, metric=METRIC, ts=current, value=round(value, 3))


async def run_once(sdk: AppSDK, now_ms: int | None = None) -> int:
    """Forecast every meter of every installing tenant; returns the points written."""
    now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    written = 0
    for tenant in sorted(sdk.tenants()):
        scope = sdk.tenant(tenant)
        points = []
        for device in await meters(scope):
            point = await forecast_meter(sdk, scope, device, now)
            if point is not None:
                points.append(point)
        written += await scope.write_metrics(points)
    return written


@hookimpl
def scheduled_jobs(sdk: AppSDK) -> list[JobSpec]:
    async def run() -> None:
        await run_once(sdk)

    return [JobSpec(id="forecast", trigger=Interval(seconds=EVERY_S, at_start=True), run=run)]


def _series(table: Any) -> list[list[float]]:
    return [
        [int(b), round(float(v), 3)]
        for b, v in zip(
            table.column("bucket").to_pylist(), table.column("value").to_pylist(), strict=True
        )
        if v is not None
    ]


@hookimpl
def routes(sdk: AppSDK) -> list[APIRouter]:
    router = APIRouter()

    @router.get("/tenants/{tenant}/meters", summary="Each meter's forecast and last day's load")
    async def forecasts(tenant: Annotated[str, Path()], principal: Reader) -> dict[str, Any]:
        scope = sdk.tenant(tenant)  # Forbidden unless the tenant installed the app
        st = state(sdk)
        now = time.time_ns() // 1_000_000
        since = now // SLOT_MS * SLOT_MS - SLOTS_PER_DAY * SLOT_MS
        out = []
        for device in await meters(scope):
            actual = await scope.aggregate(device, [POWER], since, now, bucket_ms=SLOT_MS)
            written = await scope.aggregate(device, [METRIC], since, now, bucket_ms=SLOT_MS)
            issued = st.issued.get((tenant, device))
            ahead: list[list[float]] = []
            if issued:
                first, values = issued[-1]
                ahead = [[first + i * SLOT_MS, round(float(v), 3)] for i, v in enumerate(values)]
            out.append(
                {
                    "device": device,
                    "actual": _series(actual),
                    "forecast_written": _series(written),
                    "forecast_ahead": ahead,
                }
            )
        return {
            "metric": METRIC,
            "model_version": st.version,
            "ready": st.model is not None,
            "slot_ms": SLOT_MS,
            "meters": out,
        }

    return [router]


@hookimpl
def console_pages() -> list[ConsolePage]:
    return [
        ConsolePage(
            id="forecast", title_zh="负荷预测", title_en="Load forecast", module="forecast.js"
        )
    ]


@hookimpl
def scope_families() -> list[str]:
    return ["forecast"]


@hookimpl
def manifest() -> AppManifest:
    return AppManifest(
        name_zh="负荷预测",
        name_en="Load forecast",
        version="1.0.0",
        description_zh="电表未来 24 小时 15 分钟负荷预测（LightGBM，基于 UCI 钢厂数据验证）",
        description_en=(
            "A 24-hour, 15-minute load forecast for every power meter (LightGBM, validated on "
            "the UCI steel-plant data)"
        ),
        scopes=("forecast:read",),
    )


@hookimpl
async def startup(sdk: AppSDK) -> None:
    st = state(sdk)
    if sdk.tenants() and st.preparing is None:
        # Load or train in a thread now, without waiting; with no tenant yet, on first need.
        st.preparing = asyncio.create_task(st._prepare())


@hookimpl
async def shutdown(sdk: AppSDK) -> None:
    st = _STATE.pop(sdk, None)
    if st is not None and st.preparing is not None and not st.preparing.done():
        await asyncio.wait([st.preparing], timeout=60)
