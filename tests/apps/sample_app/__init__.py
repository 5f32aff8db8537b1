"""A third-party app as the tests load it (through an entry point): it implements every hook
and records what the platform did to it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter

from helan.apps import CommittedBatch, CommittedEvents, ConsolePage, Subscription, hookimpl
from helan.apps.descriptors import AppManifest
from helan.apps.sdk import AppSDK
from helan.jobs import Interval, JobSpec

CALLS: list[str] = []
BATCHES: list[CommittedBatch] = []
EVENTS: list[CommittedEvents] = []


@hookimpl
def routes(sdk: AppSDK) -> list[APIRouter]:
    router = APIRouter()

    @router.get("/hello")
    async def hello() -> dict[str, Any]:
        return {"app": sdk.app_id, "tenants": sorted(sdk.tenants())}

    return [router]


@hookimpl
def console_pages() -> list[ConsolePage]:
    return [ConsolePage(id="sample", title_zh="示例", title_en="Sample", module="sample.js")]


@hookimpl
async def startup(sdk: AppSDK) -> None:
    CALLS.append(f"startup:{sdk.app_id}")


@hookimpl
async def shutdown(sdk: AppSDK) -> None:
    CALLS.append(f"shutdown:{sdk.app_id}")


@hookimpl
def committed_data() -> Subscription:
    async def on_batch(batch: CommittedBatch) -> None:
        BATCHES.append(batch)

    async def on_events(events: CommittedEvents) -> None:
        EVENTS.append(events)

    return Subscription(on_batch=on_batch, on_events=on_events)


@hookimpl
def scheduled_jobs() -> list[JobSpec]:
    async def tick() -> None:
        CALLS.append("tick")

    return [JobSpec(id="tick", trigger=Interval(seconds=0.05, at_start=True), run=tick)]


@hookimpl
def scope_families() -> list[str]:
    return ["sample"]


@hookimpl
def manifest() -> AppManifest:
    return AppManifest(
        name_zh="示例",
        name_en="Sample",
        version="0.1.0",
        scopes=("sample:read",),
        config_schema={
            "type": "object",
            "additionalProperties": False,
            "properties": {"greeting": {"type": "string", "maxLength": 20}},
        },
    )


@hookimpl
def migrations() -> Path:
    return Path(__file__).parent / "versions"
