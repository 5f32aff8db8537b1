"""Rescheduling keeps what is started or frozen, avoids the broken machine, moves little."""

from __future__ import annotations

import pytest

from helan.apps.builtin.scheduling.solver.model import Settings, solve
from helan.apps.builtin.scheduling.solver.problem import Job, Machine, Operation, Problem
from helan.apps.builtin.scheduling.solver.reschedule import Breakdown, reschedule
from helan.bench.jobshop import plant
from helan.core.errors import ValidationFailed

FAST = Settings(time_limit_s=5, workers=1)


def small() -> Problem:
    jobs = tuple(
        Job(
            id=f"j{i}",
            operations=tuple(
                Operation(id=str(k), options={"A": 3 + i, "B": 4 + i} if k else {"C": 2 + k})
                for k in range(3)
            ),
        )
        for i in range(4)
    )
    return Problem(jobs=jobs, machines=(Machine(id="A"), Machine(id="B"), Machine(id="C")))


def test_breakdown_keeps_started_work_and_empties_the_broken_machine() -> None:
    p = small()
    first = solve(p, FAST)
    assert first.status == "optimal"
    now = 5
    running = [a for a in first.assignments if a.start < now < a.end and a.machine != "A"]
    res = reschedule(p, first, now=now, breakdown=Breakdown(machine="A", until=40), settings=FAST)
    s = res.schedule
    assert s.status in ("optimal", "feasible")
    got = {(a.job, a.op): a for a in s.assignments}
    for a in running:
        assert got[(a.job, a.op)] == a  # kept where it was
    for a in s.assignments:
        if a.machine == "A":
            assert a.end <= now or a.start >= 40
        if (a.job, a.op) not in {(r.job, r.op) for r in running}:
            assert a.start >= now
    done = {(a.job, a.op) for a in res.done}
    assert done == {(a.job, a.op) for a in first.assignments if a.end <= now}
    assert done.isdisjoint(got)
    assert len(done) + len(got) == p.n_operations
    # the reported disruption is the sum of start deviations over what was re-planned
    old = {(a.job, a.op): a.start for a in first.assignments}
    planned = [a for a in s.assignments if (a.job, a.op) not in {(r.job, r.op) for r in running}]
    assert res.deviation == sum(abs(a.start - old[(a.job, a.op)]) for a in planned)


def test_no_disruption_means_nothing_moves() -> None:
    p = small()
    first = solve(p, FAST)
    res = reschedule(p, first, now=0, settings=FAST)
    assert res.deviation == 0
    assert res.moved_machine == 0


def test_urgent_job_is_inserted_after_now() -> None:
    p = small()
    first = solve(p, FAST)
    rush = Job(id="rush", operations=(Operation(id="0", options={"C": 2}),), due=8, weight=10)
    res = reschedule(p, first, now=3, urgent=[rush], frozen=2, settings=FAST)
    a = next(a for a in res.schedule.assignments if a.job == "rush")
    assert a.start >= 3


def test_bad_breakdown_refused() -> None:
    p = small()
    first = solve(p, FAST)
    with pytest.raises(ValidationFailed, match="unknown machine"):
        reschedule(p, first, now=1, breakdown=Breakdown(machine="Z", until=5))
    with pytest.raises(ValidationFailed, match="after now"):
        reschedule(p, first, now=5, breakdown=Breakdown(machine="A", until=5))


def test_mid_size_plant_reschedules_within_its_limit() -> None:
    # 10 machines, 200 operations: a fifth of the bench's plant per machine
    p = plant(machines=10, jobs=20, ops_per_job=10)
    first = solve(p, Settings(time_limit_s=2, workers=1))
    assert first.makespan is not None
    res = reschedule(
        p,
        first,
        now=first.makespan // 3,
        breakdown=Breakdown(machine="m0", until=first.makespan),
        frozen=20,
        settings=Settings(time_limit_s=3, workers=1),
    )
    assert res.schedule.status in ("optimal", "feasible")
    assert res.schedule.wall_s < 6
    for a in res.schedule.assignments:
        if a.machine == "m0" and (a.job, a.op) not in res.problem.fixed:
            assert a.start >= first.makespan or a.end <= first.makespan // 3
