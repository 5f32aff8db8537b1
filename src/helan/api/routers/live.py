"""Live state of a tenant's devices (online, last seen, latest values) and its ingest counters,
served from memory (:class:`helan.ingest.live.LiveState`), never from a store query."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from helan.api.deps import Reader, get_platform
from helan.core.errors import NotFound
from helan.core.thing import DeviceRef, typed_value
from helan.ingest.live import DeviceLive, LiveState, now_ms
from helan.platform import Platform
from helan.security.policy import may_admin_platform
from helan.storage.meta.directory import MetaDirectory

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["live"])
PlatformDep = Annotated[Platform, Depends(get_platform)]


def _typed(value: float | None, text: str | None, ref: DeviceRef | None, metric: str) -> object:
    return typed_value(value, text, ref.metrics.get(metric) if ref is not None else None)


def _device_view(
    live: LiveState, device: str, state: DeviceLive, ref: DeviceRef | None, at: int
) -> dict[str, Any]:
    return {
        "device": device,
        "online": live.online(state, at),
        "connected": state.connected,
        "last_seen": state.last_seen_ms,
        "values": {
            metric: {"ts": latest.ts, "value": _typed(latest.value, latest.text, ref, metric)}
            for metric, latest in sorted(state.values.items())
        },
        "attributes": state.attributes,
    }


@router.get("/live", summary="Every device's online state and latest values")
async def tenant_live(tenant: str, principal: Reader, platform: PlatformDep) -> dict[str, Any]:
    await platform.live.ensure_warm(tenant, platform.telemetry)
    at = now_ms()
    devices = dict(platform.live.devices(tenant))
    if isinstance(platform.directory, MetaDirectory):  # (a bench's static one lists nothing)
        for device in platform.directory.devices(tenant):  # registered, never heard: offline
            devices.setdefault(device, DeviceLive())
    return {
        "tenant": tenant,
        "at": at,
        "devices": [
            _device_view(
                platform.live, device, state, platform.directory.lookup(tenant, device), at
            )
            for device, state in sorted(devices.items())
        ],
    }


@router.get("/devices/{device}/live", summary="One device's online state and latest values")
async def device_live(
    tenant: str, device: str, principal: Reader, platform: PlatformDep
) -> dict[str, Any]:
    await platform.live.ensure_warm(tenant, platform.telemetry)
    ref = platform.directory.lookup(tenant, device)
    state = platform.live.device(tenant, device)
    if state is None:
        if ref is None:
            raise NotFound(f"device {device!r} not found")
        state = DeviceLive()
    return {"tenant": tenant, **_device_view(platform.live, device, state, ref, now_ms())}


@router.get("/ingest/stats", summary="Ingest counters: accepted, rejected by reason, writer")
async def ingest_stats(tenant: str, principal: Reader, platform: PlatformDep) -> dict[str, Any]:
    """The tenant's own counters; the shared writer's figures (every tenant's load) only for
    platform administrators."""
    stats = platform.pipeline.counters.snapshot(tenant)
    if not may_admin_platform(principal).allowed:
        stats.pop("writer", None)
    return stats
