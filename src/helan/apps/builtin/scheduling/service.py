"""The app's use cases over its store: save definitions (validated against the tenant's
others), quote, place and follow orders, (re)plan, move an operation, take a breakdown.
One lock per tenant serialises plan changes; solves run in worker threads."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from helan.apps.builtin.scheduling import checks
from helan.apps.builtin.scheduling.configurator import Configuration, configure
from helan.apps.builtin.scheduling.definitions import (
    Item,
    Product,
    ResourceGroup,
    Routing,
)
from helan.apps.builtin.scheduling.orders import lots
from helan.apps.builtin.scheduling.planning import (
    DEFAULT,
    MIN_MS,
    Catalog,
    PlanState,
    check_move,
    problem_for,
    promise,
    replan,
    state_from,
    to_min,
)
from helan.apps.builtin.scheduling.solver.model import Settings
from helan.apps.builtin.scheduling.solver.problem import Fixed
from helan.apps.builtin.scheduling.store import SchedulingStore, now_ms
from helan.core.errors import NotFound, ValidationFailed

REPAIR_MIN = 15  # a breakdown's expected repair when the event gives none (sim: ~12 min)
MAX_ORDERS_PLANNED = 2_000


@dataclass
class Scheduling:
    """One tenant-independent service per app SDK; ``machines`` come from the caller (the
    tenant's devices) so the service needs no platform handle."""

    store: SchedulingStore
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    def lock(self, tenant: str) -> asyncio.Lock:
        return self.locks.setdefault(tenant, asyncio.Lock())

    # -- definitions -------------------------------------------------------------------------

    def catalog(self, tenant: str, devices: set[str]) -> Catalog:
        s = self.store
        resources = set(s.all(tenant, "resource"))
        return Catalog(
            items={k: Item.model_validate(v) for k, v in s.all(tenant, "item").items()},
            routings={k: Routing.model_validate(v) for k, v in s.all(tenant, "routing").items()},
            groups={k: ResourceGroup.model_validate(v) for k, v in s.all(tenant, "group").items()},
            products={k: Product.model_validate(v) for k, v in s.all(tenant, "product").items()},
            machines=frozenset(devices | resources),
        )

    def save(self, tenant: str, kind: str, key: str, doc: BaseModel, devices: set[str]) -> None:
        if getattr(doc, "id", key) != key:
            raise ValidationFailed(
                f"body id {getattr(doc, 'id', None)!r} differs from the path's {key!r}",
                details=[{"loc": ["body", "id"], "message": "must equal the path", "type": "id"}],
            )
        cat = self.catalog(tenant, devices)
        if isinstance(doc, Item):
            checks.check_item(doc, {k: v for k, v in cat.items.items() if k != key})
        elif isinstance(doc, ResourceGroup):
            checks.check_group(doc, set(cat.machines))
        elif isinstance(doc, Routing):
            checks.check_routing(doc, cat.items, cat.groups, set(cat.machines))
        elif isinstance(doc, Product):
            checks.check_product(doc, cat.items, cat.routings)
        self.store.put(tenant, kind, key, doc.model_dump(mode="json"))

    def product(self, cat: Catalog, product_id: str) -> Product:
        p = cat.products.get(product_id)
        if p is None:  # another tenant's product is not this tenant's: 404, not 403
            raise NotFound(f"no product {product_id!r}")
        return p

    # -- orders ------------------------------------------------------------------------------

    def _state(self, tenant: str, now: int) -> PlanState:
        plan = self.store.plan(tenant)
        return state_from(plan.body if plan else None, now)

    def quote(
        self,
        tenant: str,
        devices: set[str],
        product_id: str,
        selection: Mapping[str, str],
        quantity: int,
        now: int | None = None,
    ) -> dict[str, Any]:
        t = now_ms() if now is None else now
        cat = self.catalog(tenant, devices)
        product = self.product(cat, product_id)
        conf = configure(product, selection, cat.items, cat.routings)
        probe = {
            "id": "quote",
            "product": product_id,
            "selection": dict(selection),
            "quantity": quantity,
            "created_ms": t,
            "due_ms": None,
        }
        state = self._state(tenant, t)
        promised = promise(cat, self._open_orders(tenant), state, probe, t)
        return _quote(conf, quantity, product.lot_size, promised)

    def _open_orders(self, tenant: str) -> list[dict[str, Any]]:
        rows = self.store.orders(tenant)
        if len(rows) > MAX_ORDERS_PLANNED:
            raise ValidationFailed(
                f"{len(rows)} orders: planning holds at most {MAX_ORDERS_PLANNED} (archive some)"
            )
        return rows

    def place(
        self,
        tenant: str,
        devices: set[str],
        body: Mapping[str, Any],
        now: int | None = None,
        settings: Settings = DEFAULT,
    ) -> dict[str, Any]:
        t = now_ms() if now is None else now
        cat = self.catalog(tenant, devices)
        product = self.product(cat, body["product"])
        conf = configure(product, body["selection"], cat.items, cat.routings)
        order = {
            "id": "o-" + secrets.token_hex(4),
            "product": product.id,
            "customer": body.get("customer") or "",
            "selection": conf.selection,
            "quantity": body["quantity"],
            "price": round(conf.unit_price * body["quantity"], 2),
            "due_ms": body.get("due_ms"),
            "urgent": bool(body.get("urgent")),
            "created_ms": t,
        }
        state = self._state(tenant, t)
        orders = self._open_orders(tenant)
        order["promised_ms"] = promise(cat, orders, state, order, t)
        self.store.add_order(tenant, order)
        self.plan(tenant, devices, reason=f"order {order['id']}", now=t, settings=settings)
        return self.order_status(tenant, order["id"], now=t)

    def order_status(self, tenant: str, order_id: str, now: int | None = None) -> dict[str, Any]:
        t = now_ms() if now is None else now
        row = self.store.order(tenant, order_id)
        if row is None:
            raise NotFound(f"no order {order_id!r}")
        plan = self.store.plan(tenant)
        mine = [a for a in (plan.body["assignments"] if plan else []) if a["order"] == order_id]
        late = [x for x in (plan.body["late"] if plan else []) if x["order"] == order_id]
        if not mine:
            status = "unplanned"
        elif all(a["end_ms"] <= t for a in mine):
            status = "completed"
        elif any(a["start_ms"] <= t for a in mine):
            status = "in_production"
        else:
            status = "planned"
        return {
            **{k: v for k, v in row.items() if k != "tenant_id"},
            "status": status,
            "planned_completion_ms": max((a["end_ms"] for a in mine), default=None),
            "late_by_min": max((x["late_by_min"] for x in late), default=0),
            "operations": mine,
        }

    # -- plans -------------------------------------------------------------------------------

    def plan(
        self,
        tenant: str,
        devices: set[str],
        *,
        reason: str,
        now: int | None = None,
        settings: Settings = DEFAULT,
        down: Mapping[str, int] | None = None,
        pin: tuple[str, str, Fixed] | None = None,
    ) -> dict[str, Any]:
        t = now_ms() if now is None else now
        cat = self.catalog(tenant, devices)
        state = self._state(tenant, t)
        if down:
            state = PlanState(
                origin_ms=state.origin_ms,
                assignments=state.assignments,
                down={**state.down, **{m: to_min(state.origin_ms, u) for m, u in down.items()}},
                pinned=state.pinned,
            )
        if pin is not None:
            state = PlanState(
                origin_ms=state.origin_ms,
                assignments=state.assignments,
                down=state.down,
                pinned={**state.pinned, (pin[0], pin[1]): pin[2]},
            )
        out = replan(cat, self._open_orders(tenant), state, t, settings, reason=reason)
        body = out.body | {
            "pinned": [
                {"job": j, "op": o, "machine": f.machine, "start": f.start}
                for (j, o), f in state.pinned.items()
            ]
        }
        version = self.store.save_plan(tenant, state.origin_ms, reason, body)
        return {"version": version, **body}

    def current(self, tenant: str) -> dict[str, Any]:
        plan = self.store.plan(tenant)
        if plan is None:
            raise NotFound("no plan yet: place an order or POST .../plan")
        return {"version": plan.version, "created_ms": plan.created_ms, **plan.body}

    def check_move(
        self, tenant: str, devices: set[str], job: str, op: str, machine: str, start_ms: int
    ) -> dict[str, Any]:
        t = now_ms()
        cat = self.catalog(tenant, devices)
        state = self._state(tenant, t)
        problem = problem_for(cat, self._open_orders(tenant), state, to_min(state.origin_ms, t))
        start = to_min(state.origin_ms, start_ms)
        reasons = check_move(state, problem, job, op, machine, start)
        if start < to_min(state.origin_ms, t):
            reasons.append("starts in the past")
        return {"feasible": not reasons, "reasons": reasons, "start": start}


def _quote(
    conf: Configuration, quantity: int, lot_size: int, promised: int | None
) -> dict[str, Any]:
    return {
        "product": conf.product,
        "selection": conf.selection,
        "unit_price": conf.unit_price,
        "quantity": quantity,
        "price": round(conf.unit_price * quantity, 2),
        "routing": conf.routing,
        "materials": {k: round(v * quantity, 4) for k, v in conf.materials.items()},
        "lots": lots(quantity, lot_size),
        "promised_ms": promised,
    }


__all__ = ["MIN_MS", "REPAIR_MIN", "Scheduling"]
