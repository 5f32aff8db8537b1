"""The scheduling app's hooks: its tables (own alembic chain), REST routes under
``/api/v1/apps/scheduling/tenants/{tenant}/...``, console pages (Gantt, shop), and the
committed device events that trigger a replan when a machine breaks down."""

from __future__ import annotations

import asyncio
import weakref
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field

from helan.api.deps import Meta, Reader, Writer
from helan.apps.builtin.scheduling.definitions import (
    Item,
    Name,
    Product,
    ResourceGroup,
    Routing,
)
from helan.apps.builtin.scheduling.service import MIN_MS, REPAIR_MIN, Scheduling
from helan.apps.builtin.scheduling.solver.model import OBJECTIVES, Settings
from helan.apps.builtin.scheduling.solver.problem import (
    MAX_TIME_LIMIT_S,
    MAX_WORKERS,
    MIN_TIME_LIMIT_S,
    Fixed,
)
from helan.apps.builtin.scheduling.store import SchedulingStore, now_ms
from helan.apps.descriptors import ConsolePage, Subscription
from helan.apps.hookspecs import hookimpl
from helan.apps.sdk import AppSDK
from helan.core.errors import NotFound
from helan.ingest.stream import CommittedEvents
from helan.storage.meta import MetaStore

_SERVICES: weakref.WeakKeyDictionary[AppSDK, Scheduling] = weakref.WeakKeyDictionary()
MAX_QUANTITY = 100_000


def service(sdk: AppSDK, meta: MetaStore) -> Scheduling:
    found = _SERVICES.get(sdk)
    if found is None or found.store.meta is not meta:
        found = _SERVICES[sdk] = Scheduling(SchedulingStore(meta))
    return found


def _platform_meta(sdk: AppSDK) -> MetaStore:
    # The SDK has no handle on the app's own tables yet (their migrations run in the metadata
    # database); the event handler, which has no request, reaches it here. See docs/scheduling.md.
    return sdk._services.meta


async def devices(sdk: AppSDK, tenant: str) -> set[str]:
    return {d.id for d in await sdk.tenant(tenant).devices() if d.enabled}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Resource(Strict):
    """A resource that is not a device (a team, a manual station)."""

    id: Name
    name: Annotated[str, Field(min_length=1, max_length=200)]


class QuoteIn(Strict):
    selection: dict[Name, Name] = {}
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY)] = 1


class OrderIn(QuoteIn):
    product: Name
    customer: Annotated[str, Field(max_length=200)] = ""
    due_ms: Annotated[int | None, Field(ge=0, le=10**14)] = None
    urgent: bool = False


class PlanIn(Strict):
    objective: Literal["makespan", "tardiness", "mix"] = "mix"
    time_limit_s: Annotated[float, Field(ge=MIN_TIME_LIMIT_S, le=MAX_TIME_LIMIT_S)] = 5.0
    workers: Annotated[int, Field(ge=1, le=MAX_WORKERS)] = 2
    makespan_weight: Annotated[int, Field(ge=0, le=1000)] = 1
    tardiness_weight: Annotated[int, Field(ge=0, le=1000)] = 10

    def settings(self) -> Settings:
        return Settings(
            objective=self.objective,
            time_limit_s=self.time_limit_s,
            workers=self.workers,
            makespan_weight=self.makespan_weight,
            tardiness_weight=self.tardiness_weight,
        )


class MoveIn(Strict):
    job: Annotated[str, Field(min_length=1, max_length=100)]
    op: Name
    machine: Name
    start_ms: Annotated[int, Field(ge=0, le=10**14)]
    apply: bool = False


class BreakdownIn(Strict):
    machine: Name
    until_ms: Annotated[int | None, Field(ge=0, le=10**14)] = None


assert set(OBJECTIVES) == {"makespan", "tardiness", "mix"}

KINDS: dict[str, tuple[str, type[BaseModel]]] = {
    "items": ("item", Item),
    "routings": ("routing", Routing),
    "groups": ("group", ResourceGroup),
    "resources": ("resource", Resource),
    "products": ("product", Product),
}


def _definition_routes(router: APIRouter, sdk: AppSDK, plural: str) -> None:
    kind, model = KINDS[plural]

    async def list_(tenant: str, _: Reader, meta: Meta) -> list[dict[str, Any]]:
        sdk.tenant(tenant)
        svc = service(sdk, meta)
        return list((await asyncio.to_thread(svc.store.all, tenant, kind)).values())

    async def get(tenant: str, key: str, _: Reader, meta: Meta) -> dict[str, Any]:
        sdk.tenant(tenant)
        found = (await asyncio.to_thread(service(sdk, meta).store.all, tenant, kind)).get(key)
        if found is None:
            raise NotFound(f"no {kind} {key!r}")
        return found

    async def put(tenant: str, key: str, body: Any, _: Writer, meta: Meta) -> dict[str, Any]:
        sdk.tenant(tenant)
        machines = await devices(sdk, tenant)
        svc = service(sdk, meta)
        await asyncio.to_thread(svc.save, tenant, kind, key, body, machines)
        return dict(body.model_dump(mode="json"))

    async def delete(tenant: str, key: str, _: Writer, meta: Meta) -> None:
        sdk.tenant(tenant)
        if not await asyncio.to_thread(service(sdk, meta).store.delete, tenant, kind, key):
            raise NotFound(f"no {kind} {key!r}")

    put.__annotations__["body"] = Annotated[model, Body()]
    path = f"/tenants/{{tenant}}/{plural}"
    router.add_api_route(path, list_, methods=["GET"], summary=f"List {plural}")
    router.add_api_route(path + "/{key}", get, methods=["GET"], summary=f"One of the {plural}")
    router.add_api_route(
        path + "/{key}", put, methods=["PUT"], summary=f"Create or replace one of the {plural}"
    )
    router.add_api_route(
        path + "/{key}", delete, methods=["DELETE"], status_code=204, summary="Delete one"
    )


@hookimpl
def routes(sdk: AppSDK) -> list[APIRouter]:
    router = APIRouter()
    for plural in KINDS:
        _definition_routes(router, sdk, plural)

    @router.post("/tenants/{tenant}/products/{key}/quote", summary="Price and promised date")
    async def quote(tenant: str, key: str, body: QuoteIn, _: Reader, meta: Meta) -> dict[str, Any]:
        sdk.tenant(tenant)
        machines = await devices(sdk, tenant)
        svc = service(sdk, meta)
        return await asyncio.to_thread(
            svc.quote, tenant, machines, key, body.selection, body.quantity
        )

    @router.post("/tenants/{tenant}/orders", status_code=201, summary="Place an order")
    async def place(tenant: str, body: OrderIn, _: Writer, meta: Meta) -> dict[str, Any]:
        sdk.tenant(tenant)
        machines = await devices(sdk, tenant)
        svc = service(sdk, meta)
        async with svc.lock(tenant):
            return await asyncio.to_thread(svc.place, tenant, machines, body.model_dump())

    @router.get("/tenants/{tenant}/orders", summary="Orders with their status")
    async def orders(tenant: str, _: Reader, meta: Meta) -> list[dict[str, Any]]:
        sdk.tenant(tenant)
        svc = service(sdk, meta)

        def all_() -> list[dict[str, Any]]:
            return [svc.order_status(tenant, o["id"]) for o in svc.store.orders(tenant)]

        return await asyncio.to_thread(all_)

    @router.get("/tenants/{tenant}/orders/{order}", summary="One order's status")
    async def order(tenant: str, order: str, _: Reader, meta: Meta) -> dict[str, Any]:
        sdk.tenant(tenant)
        return await asyncio.to_thread(service(sdk, meta).order_status, tenant, order)

    @router.get("/tenants/{tenant}/plan", summary="The current plan (Gantt data)")
    async def plan(tenant: str, _: Reader, meta: Meta) -> dict[str, Any]:
        sdk.tenant(tenant)
        return await asyncio.to_thread(service(sdk, meta).current, tenant)

    @router.post("/tenants/{tenant}/plan", summary="Replan every order now")
    async def replan(tenant: str, body: PlanIn, _: Writer, meta: Meta) -> dict[str, Any]:
        sdk.tenant(tenant)
        machines = await devices(sdk, tenant)
        svc = service(sdk, meta)
        async with svc.lock(tenant):
            return await asyncio.to_thread(
                partial(svc.plan, tenant, machines, reason="replan", settings=body.settings())
            )

    @router.post("/tenants/{tenant}/plan/move", summary="Check (and apply) moving an operation")
    async def move(tenant: str, body: MoveIn, _: Writer, meta: Meta) -> dict[str, Any]:
        sdk.tenant(tenant)
        machines = await devices(sdk, tenant)
        svc = service(sdk, meta)
        async with svc.lock(tenant):
            check = await asyncio.to_thread(
                svc.check_move, tenant, machines, body.job, body.op, body.machine, body.start_ms
            )
            if not (body.apply and check["feasible"]):
                return check
            pin = (body.job, body.op, Fixed(machine=body.machine, start=check["start"]))
            plan = await asyncio.to_thread(
                partial(svc.plan, tenant, machines, reason=f"moved {body.job}/{body.op}", pin=pin)
            )
            return {**check, "plan_version": plan["version"]}

    @router.post("/tenants/{tenant}/breakdowns", summary="A machine is down: replan around it")
    async def breakdown(tenant: str, body: BreakdownIn, _: Writer, meta: Meta) -> dict[str, Any]:
        sdk.tenant(tenant)
        machines = await devices(sdk, tenant)
        if body.machine not in machines:
            raise NotFound(f"no machine {body.machine!r}")
        until = body.until_ms or now_ms() + REPAIR_MIN * MIN_MS
        svc = service(sdk, meta)
        async with svc.lock(tenant):
            return await asyncio.to_thread(
                partial(
                    svc.plan,
                    tenant,
                    machines,
                    reason=f"{body.machine} down",
                    down={body.machine: until},
                )
            )

    @router.get("/tenants/{tenant}/dispatch/{machine}", summary="A machine's dispatch list")
    async def dispatch(tenant: str, machine: str, _: Reader, meta: Meta) -> dict[str, Any]:
        scope = sdk.tenant(tenant)
        plan = await asyncio.to_thread(service(sdk, meta).current, tenant)
        rows = sorted(
            (a for a in plan["assignments"] if a["machine"] == machine),
            key=lambda a: a["start_ms"],
        )
        t = now_ms()
        running = next((a for a in rows if a["start_ms"] <= t < a["end_ms"]), None)
        made = None
        if running is not None and machine in await devices(sdk, tenant):
            # progress: parts the machine's counter added since the operation started
            table = await scope.query(machine, "part_count", running["start_ms"], t + 1)
            counts = [v for v in table.column("value").to_pylist() if v is not None]
            made = int(counts[-1] - counts[0]) if len(counts) > 1 else 0
        return {
            "machine": machine,
            "operations": [a for a in rows if a["end_ms"] > t],
            "running": running,
            "parts_since_start": made,
        }

    return [router]


@hookimpl
def committed_data(sdk: AppSDK) -> Subscription:
    async def on_events(events: CommittedEvents) -> None:
        if events.historical:
            return  # an old breakdown says nothing about the plan now
        downs: dict[str, dict[str, int]] = {}
        for e in events.rows:
            if e.event == "breakdown":
                downs.setdefault(e.tenant, {})[e.device] = e.ts + REPAIR_MIN * MIN_MS
        for tenant, down in downs.items():
            svc = service(sdk, _platform_meta(sdk))
            plan = await asyncio.to_thread(svc.store.plan, tenant)
            if plan is None:
                continue  # nothing planned, nothing to move
            planned = {a["machine"] for a in plan.body["assignments"] if a["state"] == "planned"}
            down = {m: until for m, until in down.items() if m in planned}
            if not down:
                continue  # the machine has no planned work: the plan stands
            machines = await devices(sdk, tenant)
            async with svc.lock(tenant):
                reason = "breakdown " + ", ".join(sorted(down))
                await asyncio.to_thread(
                    partial(svc.plan, tenant, machines, reason=reason, down=down)
                )

    return Subscription(on_events=on_events)


@hookimpl
def migrations() -> Path:
    return Path(__file__).parent / "versions"


@hookimpl
def console_pages() -> list[ConsolePage]:
    return [
        ConsolePage(id="schedule", title_zh="生产排程", title_en="Schedule", module="gantt.js"),
        ConsolePage(id="shop", title_zh="定制商城", title_en="Shop", module="shop.js"),
    ]


@hookimpl
def scope_families() -> list[str]:
    return ["scheduling"]


@hookimpl
async def shutdown(sdk: AppSDK) -> None:
    _SERVICES.pop(sdk, None)
