"""The data-quality app's hooks. Its state lives per SDK (one per platform), never per process,
so two platforms in one process (tests, roles) count apart."""

from __future__ import annotations

import time
import weakref
from collections import Counter
from dataclasses import dataclass, field
from typing import Annotated, Any

import pyarrow.compute as pc
from fastapi import APIRouter, Path

from helan.api.deps import Reader
from helan.apps.descriptors import AppManifest, ConsolePage, Subscription
from helan.apps.hookspecs import hookimpl
from helan.apps.sdk import AppSDK, DerivedPoint
from helan.ingest.stream import CommittedBatch
from helan.jobs import Interval, JobSpec

WINDOW_S = 60
METRIC = "dq.points_per_min"
_OWN_PREFIX = "dq."  # the app's own derived points are not device data


@dataclass
class PointCounts:
    """Points per (tenant, device) since the last flush, and the last flushed window."""

    current: Counter[tuple[str, str]] = field(default_factory=Counter)
    last: dict[str, dict[str, int]] = field(default_factory=dict)
    last_ts: int | None = None

    def add(self, batch: CommittedBatch) -> None:
        points = batch.points
        points = points.filter(pc.invert(pc.starts_with(points["metric"], _OWN_PREFIX)))
        if batch.historical or points.num_rows == 0:
            return  # backfill says nothing about how the device delivers now
        grouped = points.group_by(["tenant", "device"]).aggregate([("ts", "count")])
        for tenant, device, n in zip(
            grouped["tenant"].to_pylist(),
            grouped["device"].to_pylist(),
            grouped["ts_count"].to_pylist(),
            strict=True,
        ):
            self.current[(tenant, device)] += n


_STATE: weakref.WeakKeyDictionary[AppSDK, PointCounts] = weakref.WeakKeyDictionary()


def counts(sdk: AppSDK) -> PointCounts:
    return _STATE.setdefault(sdk, PointCounts())


async def flush(sdk: AppSDK, now_ms: int | None = None) -> int:
    """Write each installed tenant's per-device counts of the window just ended (0 for an
    enabled device that sent nothing: a silent device is the finding); returns points written."""
    state = counts(sdk)
    taken, state.current = state.current, Counter()
    ts = (time.time_ns() // 1_000_000 if now_ms is None else now_ms) // 60_000 * 60_000
    written = 0
    last: dict[str, dict[str, int]] = {}
    for tenant in sorted(sdk.tenants()):
        scope = sdk.tenant(tenant)
        devices = [d.id for d in await scope.devices() if d.enabled]
        per_device = {d: taken.get((tenant, d), 0) for d in devices}
        last[tenant] = per_device
        written += await scope.write_metrics(
            [
                DerivedPoint(device=d, metric=METRIC, ts=ts, value=float(n))
                for d, n in per_device.items()
            ]
        )
    state.last, state.last_ts = last, ts
    return written


@hookimpl
def committed_data(sdk: AppSDK) -> Subscription:
    state = counts(sdk)

    async def on_batch(batch: CommittedBatch) -> None:
        state.add(batch)

    return Subscription(on_batch=on_batch)


@hookimpl
def scheduled_jobs(sdk: AppSDK) -> list[JobSpec]:
    async def run() -> None:
        await flush(sdk)

    return [JobSpec(id="flush", trigger=Interval(seconds=WINDOW_S), run=run)]


@hookimpl
def routes(sdk: AppSDK) -> list[APIRouter]:
    router = APIRouter()

    @router.get("/tenants/{tenant}/points", summary="Points per device, this and last minute")
    async def points(tenant: Annotated[str, Path()], principal: Reader) -> dict[str, Any]:
        sdk.tenant(tenant)  # Forbidden unless the tenant installed the app
        state = counts(sdk)
        current = {d: n for (t, d), n in state.current.items() if t == tenant}
        return {
            "window_s": WINDOW_S,
            "current": current,
            "last": state.last.get(tenant, {}),
            "last_ts": state.last_ts,
        }

    return [router]


@hookimpl
def console_pages() -> list[ConsolePage]:
    return [
        ConsolePage(
            id="data-quality",
            title_zh="数据质量",
            title_en="Data quality",
            module="data_quality.js",
        )
    ]


@hookimpl
def scope_families() -> list[str]:
    return ["data_quality"]


@hookimpl
def manifest() -> AppManifest:
    return AppManifest(
        name_zh="数据质量",
        name_en="Data quality",
        version="1.0.0",
        description_zh="每台设备每分钟送达的数据点数（静默设备记为 0）",
        description_en="Points each device delivered per minute (0 for a silent device)",
        scopes=("data_quality:read",),
    )


@hookimpl
async def startup(sdk: AppSDK) -> None:
    counts(sdk)


@hookimpl
async def shutdown(sdk: AppSDK) -> None:
    _STATE.pop(sdk, None)
