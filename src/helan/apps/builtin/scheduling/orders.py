"""Orders to production orders: lot sizing (lots of the product's ``lot_size``, the last one
the rest), each lot a job on the configured routing whose steps may run on any of their
machines, so lots of one order spread over alternative machines in parallel."""

from __future__ import annotations

import math
from collections.abc import Mapping

from helan.apps.builtin.scheduling.checks import step_machines
from helan.apps.builtin.scheduling.definitions import ResourceGroup, Routing
from helan.apps.builtin.scheduling.solver.problem import Job, Operation
from helan.core.errors import ValidationFailed

MAX_LOTS = 500


def lots(quantity: int, lot_size: int) -> list[int]:
    """Split ``quantity`` into lots of ``lot_size`` (the last smaller); at most MAX_LOTS."""
    n = math.ceil(quantity / lot_size)
    if n > MAX_LOTS:
        lot_size = math.ceil(quantity / MAX_LOTS)
        n = math.ceil(quantity / lot_size)
    return [min(lot_size, quantity - k * lot_size) for k in range(n)]


def production_jobs(
    order_id: str,
    quantity: int,
    lot_size: int,
    routing: Routing,
    groups: Mapping[str, ResourceGroup],
    *,
    release: int,
    due: int | None,
    weight: int,
    available: set[str],
) -> list[Job]:
    """One job per lot; durations in minutes: setup once per lot plus per-unit processing.

    Machines not in ``available`` (deleted since the routing was saved) are left out; a step
    left with none raises, naming it."""
    out = []
    for k, qty in enumerate(lots(quantity, lot_size)):
        ops = []
        for step in routing.steps:
            machines = [m for m in step_machines(step, groups) if m in available]
            if not machines:
                raise ValidationFailed(
                    f"routing {routing.id!r} step {step.id!r}: none of its machines exists"
                )
            minutes = step.setup_min + math.ceil(step.process_min * qty)
            ops.append(
                Operation(
                    id=step.id,
                    options=dict.fromkeys(machines, minutes),
                    transfer_after=step.transfer_min,
                )
            )
        out.append(
            Job(
                id=f"{order_id}/{k + 1}",
                operations=tuple(ops),
                release=release,
                due=due,
                weight=weight,
                family=routing.id,
            )
        )
    return out
