"""A tenant's plan: its orders' lots over its machines, solved, kept, and changed as little as
possible when a machine breaks down, an order arrives or an operation is moved by hand.

Times in the solver are minutes since the plan's origin (the first plan's start, kept by every
later version); the stored plan carries epoch milliseconds for the console. Capable-to-promise
inserts a new order's lots into the current plan without moving anything already planned, so
the date it gives is one the plant can keep.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from helan.apps.builtin.scheduling.configurator import configure
from helan.apps.builtin.scheduling.definitions import Item, Product, ResourceGroup, Routing
from helan.apps.builtin.scheduling.orders import production_jobs
from helan.apps.builtin.scheduling.solver.model import Settings
from helan.apps.builtin.scheduling.solver.problem import (
    Assignment,
    Fixed,
    Job,
    Machine,
    Problem,
    Schedule,
)
from helan.apps.builtin.scheduling.solver.reschedule import Breakdown, reschedule
from helan.core.errors import ValidationFailed

MIN_MS = 60_000
FROZEN_MIN = 30  # operations starting within 30 min are not moved by a replan
FOREVER = 10**8
DEFAULT = Settings(
    objective="mix", makespan_weight=1, tardiness_weight=10, time_limit_s=5, relative_gap=0.01
)
CTP = Settings(objective="tardiness", time_limit_s=3, relative_gap=0.01)


@dataclass(frozen=True, slots=True, kw_only=True)
class Catalog:
    """A tenant's definitions and the machines (devices and resources) they may name."""

    items: Mapping[str, Item]
    routings: Mapping[str, Routing]
    groups: Mapping[str, ResourceGroup]
    products: Mapping[str, Product]
    machines: frozenset[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What a (re)plan produced, ready to store: the body the console and the API read."""

    body: dict[str, Any]
    schedule: Schedule


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanState:
    origin_ms: int
    assignments: tuple[Assignment, ...] = ()
    down: Mapping[str, int] = field(default_factory=dict)  # machine -> until (minutes)
    pinned: Mapping[tuple[str, str], Fixed] = field(default_factory=dict)


def to_min(origin_ms: int, ms: int) -> int:
    return max(0, (ms - origin_ms) // MIN_MS)


def order_jobs(catalog: Catalog, order: Mapping[str, Any], origin_ms: int, now: int) -> list[Job]:
    product = catalog.products.get(order["product"])
    if product is None:
        return []  # the product was deleted; its order stays listed but is not planned
    conf = configure(product, order["selection"], catalog.items, catalog.routings)
    due = order.get("due_ms") or order.get("promised_ms")
    return production_jobs(
        order["id"],
        order["quantity"],
        product.lot_size,
        catalog.routings[conf.routing],
        catalog.groups,
        release=to_min(origin_ms, order["created_ms"]) if order["created_ms"] > origin_ms else 0,
        due=None if due is None else to_min(origin_ms, due),
        weight=10 if order.get("urgent") else 1,
        available=set(catalog.machines),
    )


def problem_for(
    catalog: Catalog, orders: Sequence[Mapping[str, Any]], state: PlanState, now: int
) -> Problem:
    jobs = [j for o in orders for j in order_jobs(catalog, o, state.origin_ms, now)]
    machines = tuple(Machine(id=m) for m in sorted(catalog.machines))
    known = {(j.id, op.id) for j in jobs for op in j.operations}
    pinned = {k: f for k, f in state.pinned.items() if k in known and f.machine in catalog.machines}
    return Problem(jobs=tuple(jobs), machines=machines, fixed=pinned)


def replan(
    catalog: Catalog,
    orders: Sequence[Mapping[str, Any]],
    state: PlanState,
    now_ms: int,
    settings: Settings = DEFAULT,
    *,
    reason: str,
) -> Outcome:
    """Plan every order from ``now``: started and frozen work kept, machines down avoided."""
    now = to_min(state.origin_ms, now_ms)
    down = {m: u for m, u in state.down.items() if u > now and m in catalog.machines}
    problem = problem_for(catalog, orders, state, now)
    previous = Schedule(
        status="feasible",
        objective=None,
        bound=None,
        makespan=None,
        assignments=tuple(a for a in state.assignments if a.machine in catalog.machines),
        late=(),
        wall_s=0.0,
    )
    res = reschedule(
        problem,
        previous,
        now=now,
        breakdown=[Breakdown(machine=m, until=u) for m, u in down.items()],
        frozen=FROZEN_MIN,
        settings=settings,
    )
    return Outcome(
        body=body(state.origin_ms, res.schedule, res.done, down, reason)
        | {"deviation_min": res.deviation, "moved_machine": res.moved_machine},
        schedule=res.schedule,
    )


def promise(
    catalog: Catalog,
    orders: Sequence[Mapping[str, Any]],
    state: PlanState,
    new_order: Mapping[str, Any],
    now_ms: int,
) -> int | None:
    """Capable-to-promise: the earliest completion (epoch ms) of ``new_order``'s lots when
    they are added to the current plan without moving anything in it; None if no schedule."""
    now = to_min(state.origin_ms, now_ms)
    problem = problem_for(catalog, orders, state, now)
    jobs = [
        replace(j, due=now, weight=1) for j in order_jobs(catalog, new_order, state.origin_ms, now)
    ]
    if not jobs:
        raise ValidationFailed("the order has nothing to make")
    previous = Schedule(
        status="feasible",
        objective=None,
        bound=None,
        makespan=None,
        assignments=tuple(a for a in state.assignments if a.machine in catalog.machines),
        late=(),
        wall_s=0.0,
    )
    down = [Breakdown(machine=m, until=u) for m, u in state.down.items() if u > now]
    res = reschedule(
        problem, previous, now=now, breakdown=down, urgent=jobs, frozen=FOREVER, settings=CTP
    )
    ends = [a.end for a in res.schedule.assignments if a.job in {j.id for j in jobs}]
    if not ends:
        return None
    return state.origin_ms + max(ends) * MIN_MS


def body(
    origin_ms: int,
    schedule: Schedule,
    done: Sequence[Assignment],
    down: Mapping[str, int],
    reason: str,
) -> dict[str, Any]:
    def row(a: Assignment, state: str) -> dict[str, Any]:
        return {
            "job": a.job,
            "order": a.job.split("/")[0],
            "op": a.op,
            "machine": a.machine,
            "start": a.start,
            "end": a.end,
            "start_ms": origin_ms + a.start * MIN_MS,
            "end_ms": origin_ms + a.end * MIN_MS,
            "state": state,
        }

    return {
        "origin_ms": origin_ms,
        "unit": "min",
        "reason": reason,
        "status": schedule.status,
        "message": schedule.message,
        "objective": schedule.objective,
        "bound": schedule.bound,
        "makespan": schedule.makespan,
        "wall_s": round(schedule.wall_s, 3),
        "assignments": [row(a, "done") for a in done]
        + [row(a, "planned") for a in schedule.assignments],
        "late": [
            {
                "job": x.job,
                "order": x.job.split("/")[0],
                "late_by_min": x.late_by,
                "due_ms": origin_ms + x.due * MIN_MS,
                "completion_ms": origin_ms + x.completion * MIN_MS,
            }
            for x in schedule.late
        ],
        "down": {m: origin_ms + u * MIN_MS for m, u in down.items()},
    }


def state_from(body_: Mapping[str, Any] | None, now_ms: int) -> PlanState:
    """The plan state a stored body describes (a fresh one starting now when there is none)."""
    if not body_:
        return PlanState(origin_ms=now_ms // MIN_MS * MIN_MS)
    origin = int(body_["origin_ms"])
    return PlanState(
        origin_ms=origin,
        assignments=tuple(
            Assignment(
                job=a["job"], op=a["op"], machine=a["machine"], start=a["start"], end=a["end"]
            )
            for a in body_.get("assignments", [])
        ),
        down={m: to_min(origin, int(ms)) for m, ms in body_.get("down", {}).items()},
        pinned={
            (p["job"], p["op"]): Fixed(machine=p["machine"], start=p["start"])
            for p in body_.get("pinned", [])
        },
    )


def check_move(
    state: PlanState, problem: Problem, job: str, op: str, machine: str, start: int
) -> list[str]:
    """Why moving (job, op) to ``machine`` at ``start`` breaks the plan (empty: it fits):
    the machine must be allowed, free, open, and the job's order kept."""
    ops = {(j.id, o.id): (j, k) for j in problem.jobs for k, o in enumerate(j.operations)}
    if (job, op) not in ops:
        return [f"operation {job}/{op} is not in the plan"]
    j, k = ops[(job, op)]
    o = j.operations[k]
    if machine not in o.options:
        return [f"{machine} cannot run {job}/{op} (allowed: {', '.join(sorted(o.options))})"]
    end = start + o.options[machine]
    reasons = []
    placed = {(a.job, a.op): a for a in state.assignments}
    for a in state.assignments:
        if a.machine == machine and (a.job, a.op) != (job, op) and a.start < end and start < a.end:
            reasons.append(f"overlaps {a.job}/{a.op} on {machine} ({a.start}-{a.end} min)")
    if k > 0:
        prev = placed.get((job, j.operations[k - 1].id))
        need = None if prev is None else prev.end + j.operations[k - 1].transfer_after
        if need is not None and start < need:
            reasons.append(f"starts before its previous step ends (+ transfer) at {need} min")
    if k + 1 < len(j.operations):
        nxt = placed.get((job, j.operations[k + 1].id))
        if nxt is not None and end + o.transfer_after > nxt.start:
            reasons.append(f"ends after its next step starts at {nxt.start} min")
    if start < j.release:
        reasons.append(f"starts before the order's release at {j.release} min")
    until = state.down.get(machine)
    if until is not None and start < until:
        reasons.append(f"{machine} is down until {until} min")
    return reasons
