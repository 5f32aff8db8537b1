"""The CP-SAT model: intervals per (operation, machine option), no-overlap per machine with its
closed windows as fixed intervals, job chains with transfer times, sequence-dependent setups as
a circuit per machine, soft due dates, and an objective of makespan, total weighted tardiness,
a weighted mix, plus (when rescheduling) the sum of start-time deviations from a reference.

Every solve has a bounded time limit and worker count, so a call never hangs; the answer says
whether the schedule is proven optimal and what bound the solver proved.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ortools.sat.python import cp_model

from helan.apps.builtin.scheduling.solver.dispatch import mwkr
from helan.apps.builtin.scheduling.solver.problem import (
    MAX_TIME,
    MAX_TIME_LIMIT_S,
    MAX_WORKERS,
    MIN_TIME_LIMIT_S,
    Assignment,
    Problem,
    Schedule,
    lateness,
)
from helan.core.errors import ValidationFailed

ObjectiveKind = Literal["makespan", "tardiness", "mix"]
OBJECTIVES: tuple[ObjectiveKind, ...] = ("makespan", "tardiness", "mix")
MAX_SETUP_OPS_PER_MACHINE = 400  # a circuit is quadratic in the operations a machine may run

_STATUS = {
    cp_model.OPTIMAL: "optimal",
    cp_model.FEASIBLE: "feasible",
    cp_model.INFEASIBLE: "infeasible",
    cp_model.MODEL_INVALID: "invalid",
    cp_model.UNKNOWN: "unknown",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """How to solve: objective, weights of the mix, time limit and workers (both bounded).

    ``reference`` holds previous start times per (job, op); with ``disruption_weight`` > 0 the
    sum of absolute deviations from them is added to the objective (rescheduling's measure).
    ``hint`` (same keys, (machine, start)) warm-starts the search from a previous schedule."""

    objective: ObjectiveKind = "makespan"
    makespan_weight: int = 1
    tardiness_weight: int = 1
    time_limit_s: float = 10.0
    workers: int = 2
    relative_gap: float = 0.0
    reference: Mapping[tuple[str, str], int] = field(default_factory=dict)
    disruption_weight: int = 0
    hint: Mapping[tuple[str, str], tuple[str, int]] = field(default_factory=dict)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValidationFailed(f"objective must be one of {', '.join(OBJECTIVES)}")
        if not MIN_TIME_LIMIT_S <= self.time_limit_s <= MAX_TIME_LIMIT_S:
            raise ValidationFailed(
                f"time_limit_s must be in {MIN_TIME_LIMIT_S}..{MAX_TIME_LIMIT_S:.0f} seconds "
                f"(got {self.time_limit_s}); longer plans: decompose or run the solve again "
                "warm-started from its result"
            )
        if not 1 <= self.workers <= MAX_WORKERS:
            raise ValidationFailed(f"workers must be in 1..{MAX_WORKERS} (got {self.workers})")
        if not 0.0 <= self.relative_gap < 1.0:
            raise ValidationFailed("relative_gap must be in [0, 1)")
        for name, w in (
            ("makespan_weight", self.makespan_weight),
            ("tardiness_weight", self.tardiness_weight),
            ("disruption_weight", self.disruption_weight),
        ):
            if not 0 <= w <= 1000:
                raise ValidationFailed(f"{name} must be in 0..1000")


def horizon(problem: Problem) -> int:
    """An upper bound on any schedule's end: all work in a row after the last release, the
    last fixed start and the last closed window (after which every machine is free)."""
    start = max(
        [j.release for j in problem.jobs]
        + [f.start for f in problem.fixed.values()]
        + [e for m in problem.machines for _, e in m.closed]
    )
    work = sum(
        max(o.options.values()) + o.transfer_after for j in problem.jobs for o in j.operations
    )
    setup = max((t for m in problem.machines for t in m.setup.values()), default=0)
    return min(MAX_TIME, start + work + setup * problem.n_operations + 1)


def merged(windows: tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
    """Overlapping or touching closed windows as one (fixed intervals may not overlap)."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(windows):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def solve(problem: Problem, settings: Settings | None = None) -> Schedule:
    """Build and solve the model; never raises for a problem that merely has no schedule."""
    s = settings or Settings()
    t0 = time.perf_counter()
    h = horizon(problem)
    m = cp_model.CpModel()
    machines = {mc.id: mc for mc in problem.machines}
    # Per machine: (interval, presence literal or None, job, op) of every candidate.
    on_machine: dict[str, list[tuple[cp_model.IntervalVar, cp_model.IntVar | None, str, str]]]
    on_machine = {mid: [] for mid in machines}
    starts: dict[tuple[str, str], cp_model.IntVar] = {}
    ends: dict[tuple[str, str], cp_model.IntVar] = {}
    chosen: dict[tuple[str, str], dict[str, cp_model.IntVar | None]] = {}
    job_end: dict[str, cp_model.IntVar] = {}

    for j in problem.jobs:
        prev_end: cp_model.IntVar | None = None
        prev_transfer = 0
        for o in j.operations:
            key = (j.id, o.id)
            st = m.new_int_var(j.release, h, f"s|{j.id}|{o.id}")
            en = m.new_int_var(j.release, h, f"e|{j.id}|{o.id}")
            starts[key], ends[key] = st, en
            lits: dict[str, cp_model.IntVar | None] = {}
            if len(o.options) == 1:
                ((mid, d),) = o.options.items()
                iv = m.new_interval_var(st, d, en, f"i|{j.id}|{o.id}")
                on_machine[mid].append((iv, None, j.id, o.id))
                lits[mid] = None
            else:
                for mid, d in o.options.items():
                    lit = m.new_bool_var(f"x|{j.id}|{o.id}|{mid}")
                    iv = m.new_optional_fixed_size_interval_var(
                        st, d, lit, f"i|{j.id}|{o.id}|{mid}"
                    )
                    m.add(en == st + d).only_enforce_if(lit)
                    on_machine[mid].append((iv, lit, j.id, o.id))
                    lits[mid] = lit
                m.add_exactly_one([v for v in lits.values() if v is not None])
            chosen[key] = lits
            if prev_end is not None:
                m.add(st >= prev_end + prev_transfer)
            prev_end, prev_transfer = en, o.transfer_after
            fx = problem.fixed.get(key)
            if fx is not None:
                m.add(st == fx.start)
                lit_fx = lits[fx.machine]
                if lit_fx is not None:
                    m.add(lit_fx == 1)
        assert prev_end is not None  # a job has at least one operation
        job_end[j.id] = prev_end

    for mid, cands in on_machine.items():
        mc = machines[mid]
        windows = [
            m.new_fixed_size_interval_var(a, b - a, f"closed|{mid}|{a}")
            for a, b in merged(mc.closed)
        ]
        m.add_no_overlap([c[0] for c in cands] + windows)
        if mc.setup and len(cands) > 1:
            _add_setups(m, mid, cands, starts, ends, problem, mc.setup)

    makespan = m.new_int_var(0, h, "makespan")
    m.add_max_equality(makespan, list(job_end.values()))
    terms: list[cp_model.LinearExprT] = []
    tardiness = []
    for j in problem.jobs:
        if j.due is not None and j.weight > 0:
            t = m.new_int_var(0, h, f"tard|{j.id}")
            m.add(t >= job_end[j.id] - j.due)
            tardiness.append(j.weight * t)
    if s.objective in ("makespan", "mix"):
        w = 1 if s.objective == "makespan" else s.makespan_weight
        terms.append(w * makespan)
    if s.objective in ("tardiness", "mix") and tardiness:
        w = 1 if s.objective == "tardiness" else s.tardiness_weight
        terms.append(w * sum(tardiness))
    if s.disruption_weight and s.reference:
        for key, ref in s.reference.items():
            if key in starts and key not in problem.fixed:
                dev = m.new_int_var(0, h + ref, f"dev|{key[0]}|{key[1]}")
                m.add_abs_equality(dev, starts[key] - ref)
                terms.append(s.disruption_weight * dev)
    m.minimize(sum(terms) if terms else makespan)

    hint = dict(s.hint)
    flexible = any(len(o.options) > 1 for j in problem.jobs for o in j.operations)
    if not hint and (flexible or problem.n_operations > 500 or problem.fixed):
        # Large and flexible plans start from the dispatching rule's schedule: without it
        # CP-SAT may spend the whole limit finding a first one.
        hint = {(a.job, a.op): (a.machine, a.start) for a in mwkr(problem).assignments}
    for key, (mid, start) in hint.items():
        if key in starts and mid in chosen[key]:
            m.add_hint(starts[key], start)
            for other, option in chosen[key].items():
                if option is not None:
                    m.add_hint(option, other == mid)

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = s.time_limit_s
    solver.parameters.num_workers = s.workers
    # CP-SAT catches Ctrl+C during a solve and leaves SIGINT at its default afterwards: the
    # platform's own handler (graceful stop) would be gone and Ctrl+C would kill it.
    solver.parameters.catch_sigint_signal = False
    solver.parameters.random_seed = s.seed
    if s.relative_gap:
        solver.parameters.relative_gap_limit = s.relative_gap
    code = solver.solve(m)
    status = _STATUS.get(code, "unknown")
    wall = time.perf_counter() - t0
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        why = (
            "the fixed (started or frozen) operations conflict with each other or with a "
            "machine's closed window"
            if code == cp_model.INFEASIBLE
            else f"no schedule found within {s.time_limit_s} s"
        )
        return Schedule(
            status=status,
            objective=None,
            bound=None,
            makespan=None,
            assignments=(),
            late=(),
            wall_s=wall,
            message=why,
        )
    out = []
    for (jid, oid), lits in chosen.items():
        mid = next(k for k, lit in lits.items() if lit is None or solver.boolean_value(lit))
        out.append(
            Assignment(
                job=jid,
                op=oid,
                machine=mid,
                start=solver.value(starts[(jid, oid)]),
                end=solver.value(ends[(jid, oid)]),
            )
        )
    return Schedule(
        status=status,
        objective=int(solver.objective_value),
        bound=int(solver.best_objective_bound),
        makespan=solver.value(makespan),
        assignments=tuple(out),
        late=lateness(problem, out),
        wall_s=wall,
    )


def _add_setups(
    m: cp_model.CpModel,
    mid: str,
    cands: list[tuple[cp_model.IntervalVar, cp_model.IntVar | None, str, str]],
    starts: dict[tuple[str, str], cp_model.IntVar],
    ends: dict[tuple[str, str], cp_model.IntVar],
    problem: Problem,
    setup: Mapping[tuple[str, str], int],
) -> None:
    """Sequence-dependent changeovers on one machine: a circuit through node 0 (the machine's
    start and end) and one node per candidate operation; an arc i -> j means j follows i
    directly and starts at least setup(family i, family j) after i ends."""
    if len(cands) > MAX_SETUP_OPS_PER_MACHINE:
        raise ValidationFailed(
            f"machine {mid!r}: {len(cands)} operations with sequence-dependent setups "
            f"(at most {MAX_SETUP_OPS_PER_MACHINE} per solve): decompose the horizon"
        )
    family = {j.id: j.family for j in problem.jobs}
    arcs: list[tuple[int, int, cp_model.LiteralT]] = [(0, 0, m.new_bool_var(""))]
    for i, (_, lit_i, jid_i, _) in enumerate(cands, start=1):
        arcs.append((0, i, m.new_bool_var("")))
        arcs.append((i, 0, m.new_bool_var("")))
        if lit_i is not None:
            arcs.append((i, i, lit_i.Not()))  # absent: skipped by a self loop
        for k, (_, _, jid_k, _) in enumerate(cands, start=1):
            if i == k:
                continue
            t = setup.get((family[jid_i], family[jid_k]), 0)
            lit = m.new_bool_var("")
            arcs.append((i, k, lit))
            key_i, key_k = (jid_i, cands[i - 1][3]), (jid_k, cands[k - 1][3])
            m.add(starts[key_k] >= ends[key_i] + t).only_enforce_if(lit)
    m.add_circuit(arcs)
