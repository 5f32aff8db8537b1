"""List scheduling with a priority rule: the baseline the CP-SAT schedules are compared with,
and the warm start of large solves and of rescheduling.

Non-delay list scheduling (Giffler-Thompson style): at each step, among the jobs' next
operations, take the one that can start earliest, ties to the job with the most work remaining
(MWKR), then the shortest processing time (SPT); a flexible operation goes to the machine where
it ends first. With ``priority`` (previous start times) operations are taken in that order
instead, which repairs a previous schedule by shifting it right. Release dates, transfer times,
closed windows and fixed operations (placed first, as blocked time) are respected; setups are
counted from the machine's last placed job (around fixed operations they may be short, so
the result is a hint for the solver, which checks it, not a guarantee).
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from helan.apps.builtin.scheduling.solver.problem import (
    Assignment,
    Problem,
    Schedule,
    lateness,
)


def _fit(blocked: list[tuple[int, int]], earliest: int, duration: int) -> int:
    """The first start >= earliest at which [start, start + duration) misses every window."""
    start = earliest
    for s, e in blocked:
        if start + duration <= s:
            break
        if start < e:
            start = e
    return start


def mwkr(
    problem: Problem,
    priority: Mapping[tuple[str, str], int] | None = None,
    prefer: Mapping[tuple[str, str], str] | None = None,
) -> Schedule:
    """``prefer`` keeps an operation on its machine (the previous schedule's) when allowed."""
    t0 = time.perf_counter()
    machines = {m.id: m for m in problem.machines}
    blocked: dict[str, list[tuple[int, int]]] = {m.id: list(m.closed) for m in problem.machines}
    machine_free = {m: 0 for m in machines}
    machine_family: dict[str, str | None] = {m: None for m in machines}
    family = {j.id: j.family for j in problem.jobs}
    jobs = {j.id: j for j in problem.jobs}
    nxt = {j.id: 0 for j in problem.jobs}
    ready = {j.id: j.release for j in problem.jobs}
    remaining = {j.id: sum(min(o.options.values()) for o in j.operations) for j in problem.jobs}
    out: list[Assignment] = []
    for j in problem.jobs:  # fixed operations first: they are a prefix of their job
        for o in j.operations:
            fx = problem.fixed.get((j.id, o.id))
            if fx is None:
                break
            end = fx.start + o.options[fx.machine]
            out.append(Assignment(job=j.id, op=o.id, machine=fx.machine, start=fx.start, end=end))
            blocked[fx.machine].append((fx.start, end))
            ready[j.id] = end + o.transfer_after
            remaining[j.id] -= min(o.options.values())
            nxt[j.id] += 1
    for b in blocked.values():
        b.sort()
    pending = [jid for jid in jobs if nxt[jid] < len(jobs[jid].operations)]
    while pending:
        best: tuple[int, int, int, int, str] | None = None
        best_choice: tuple[str, str, int, int] | None = None
        for jid in pending:
            op = jobs[jid].operations[nxt[jid]]
            choice = None
            options = op.options
            kept = None if prefer is None else prefer.get((jid, op.id))
            if kept is not None and kept in options:
                options = {kept: options[kept]}
            for mid, d in options.items():
                prev = machine_family[mid]
                setup = 0 if prev is None else machines[mid].setup.get((prev, family[jid]), 0)
                st = _fit(blocked[mid], max(ready[jid], machine_free[mid] + setup), d)
                if choice is None or st + d < choice[2] + choice[3]:
                    choice = (mid, op.id, st, d)
            assert choice is not None
            first = choice[2] if priority is None else priority.get((jid, op.id), choice[2])
            key = (first, choice[2], -remaining[jid], choice[3], jid)
            if best is None or key < best:
                best, best_choice = key, choice
        assert best is not None
        assert best_choice is not None
        jid = best[4]
        mid, oid, st, d = best_choice
        out.append(Assignment(job=jid, op=oid, machine=mid, start=st, end=st + d))
        op = jobs[jid].operations[nxt[jid]]
        machine_free[mid], machine_family[mid] = st + d, family[jid]
        ready[jid] = st + d + op.transfer_after
        remaining[jid] -= min(op.options.values())
        nxt[jid] += 1
        if nxt[jid] == len(jobs[jid].operations):
            pending.remove(jid)
    makespan = max((a.end for a in out), default=0)
    return Schedule(
        status="feasible",
        objective=makespan,
        bound=None,
        makespan=makespan,
        assignments=tuple(out),
        late=lateness(problem, out),
        wall_s=time.perf_counter() - t0,
        message="MWKR/SPT dispatching rule",
    )
