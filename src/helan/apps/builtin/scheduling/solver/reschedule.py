"""Rescheduling after a disruption (a machine down, an urgent job) that keeps what is started
or frozen and moves the rest as little as it can.

At time ``now``: operations that ended are dropped; one running on a working machine is fixed
where it is; one running on the broken machine is restarted (it goes back into the plan, from
``now``); operations starting within ``frozen`` of ``now`` on a working machine are fixed when
everything before them in their job is done or fixed. The broken machine gets a closed window
``[now, until)``. The rest is re-solved with the original objective plus
``disruption_weight`` x (sum over re-planned operations of |new start - old start|): that sum
is the disruption measure reported, together with how many operations changed machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from helan.apps.builtin.scheduling.solver.dispatch import mwkr
from helan.apps.builtin.scheduling.solver.model import Settings, solve
from helan.apps.builtin.scheduling.solver.problem import (
    Assignment,
    Fixed,
    Job,
    Operation,
    Problem,
    Schedule,
)
from helan.core.errors import ValidationFailed


@dataclass(frozen=True, slots=True, kw_only=True)
class Breakdown:
    machine: str
    until: int  # expected end of the repair (start of the machine's availability)


@dataclass(frozen=True, slots=True, kw_only=True)
class Rescheduled:
    schedule: Schedule
    problem: Problem  # what was solved: the remaining work with fixed operations
    done: tuple[Assignment, ...]  # operations finished before ``now``, kept as history
    fixed: int
    deviation: int  # sum of |new start - old start| over re-planned operations
    moved_machine: int


def reschedule(
    problem: Problem,
    previous: Schedule,
    *,
    now: int,
    breakdown: Breakdown | Sequence[Breakdown] | None = None,
    urgent: Sequence[Job] = (),
    frozen: int = 0,
    settings: Settings | None = None,
) -> Rescheduled:
    s = settings or Settings()
    if now < 0 or frozen < 0:
        raise ValidationFailed("now and frozen must be >= 0")
    machines = {m.id: m for m in problem.machines}
    downs = (
        []
        if breakdown is None
        else [breakdown]
        if isinstance(breakdown, Breakdown)
        else list(breakdown)
    )
    for b in downs:
        if b.machine not in machines:
            raise ValidationFailed(f"breakdown: unknown machine {b.machine!r}")
        if b.until <= now:
            raise ValidationFailed("breakdown: until must be after now")
    old = {(a.job, a.op): a for a in previous.assignments}
    until = {b.machine: max(b.until, 0) for b in downs}
    done: list[Assignment] = []
    fixed: dict[tuple[str, str], Fixed] = dict(problem.fixed)
    jobs: list[Job] = []
    for j in problem.jobs:
        ready = j.release  # earliest start of the job's first remaining operation
        remaining: list[Operation] = []
        chain_fixed = True  # everything before this operation is done or fixed
        for o in j.operations:
            a = old.get((j.id, o.id))
            if a is not None and a.end <= now and chain_fixed and not remaining:
                done.append(a)
                ready = max(ready, a.end + o.transfer_after)
                continue
            keep = (
                a is not None
                and chain_fixed
                and a.machine not in until
                and (a.start < now < a.end or now <= a.start < now + frozen)
            )
            if a is not None and keep:
                fixed[(j.id, o.id)] = Fixed(machine=a.machine, start=a.start)
                if not remaining:
                    ready = min(ready, a.start)
            else:
                chain_fixed = False
                if not remaining:
                    ready = max(ready, now)
            remaining.append(o)
        if remaining:
            jobs.append(replace(j, operations=tuple(remaining), release=ready))
    for u in urgent:
        jobs.append(replace(u, release=max(u.release, now)))
    new_machines = tuple(
        replace(m, closed=(*m.closed, (now, until[m.id]))) if m.id in until else m
        for m in problem.machines
    )
    keys = {(j.id, o.id) for j in jobs for o in j.operations}
    fixed = {k: f for k, f in fixed.items() if k in keys}
    sub = Problem(jobs=tuple(jobs), machines=new_machines, fixed=fixed)
    planned = {(j.id, o.id) for j in jobs for o in j.operations} - set(fixed)
    reference = {k: old[k].start for k in planned if k in old}
    # Warm start: the previous schedule repaired by shifting it right, in its old order.
    repaired = mwkr(
        sub,
        priority={k: a.start for k, a in old.items()},
        prefer={k: a.machine for k, a in old.items() if a.machine not in until},
    )
    hint = {(a.job, a.op): (a.machine, a.start) for a in repaired.assignments}
    result = solve(
        sub,
        replace(
            s,
            reference=reference,
            disruption_weight=max(s.disruption_weight, 1),
            hint={**hint, **s.hint},
        ),
    )
    deviation = moved = 0
    for a in result.assignments:
        before = old.get((a.job, a.op))
        if before is not None and (a.job, a.op) in planned:
            deviation += abs(a.start - before.start)
            moved += a.machine != before.machine
    return Rescheduled(
        schedule=result,
        problem=sub,
        done=tuple(done),
        fixed=len(fixed),
        deviation=deviation,
        moved_machine=moved,
    )
