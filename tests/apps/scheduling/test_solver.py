"""The CP-SAT model on small problems whose answers are known by hand."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from helan.apps.builtin.scheduling.solver import dispatch, jsplib
from helan.apps.builtin.scheduling.solver.model import Settings, solve
from helan.apps.builtin.scheduling.solver.problem import (
    MAX_OPERATIONS,
    Fixed,
    Job,
    Machine,
    Operation,
    Problem,
    Schedule,
)
from helan.core.errors import ValidationFailed

DATA = Path(__file__).parents[3] / "data" / "jobshop" / "instances"
FAST = Settings(time_limit_s=5, workers=1)


def op(oid: str, **options: int) -> Operation:
    return Operation(id=oid, options=options)


def check_feasible(problem: Problem, schedule: Schedule) -> None:
    """No two operations overlap on a machine, chains hold, no window is crossed."""
    ops = {(j.id, o.id): o for j in problem.jobs for o in j.operations}
    for mid, row in schedule.by_machine().items():
        for a, b in pairwise(row):
            assert a.end <= b.start, (mid, a, b)
        closed = next(m for m in problem.machines if m.id == mid).closed
        for a in row:
            assert a.end - a.start == ops[(a.job, a.op)].options[a.machine]
            for s, e in closed:
                assert a.end <= s or a.start >= e, (a, (s, e))
    got = {(a.job, a.op): a for a in schedule.assignments}
    for j in problem.jobs:
        assert got[(j.id, j.operations[0].id)].start >= j.release
        for o1, o2 in pairwise(j.operations):
            assert got[(j.id, o2.id)].start >= got[(j.id, o1.id)].end + o1.transfer_after


def test_two_jobs_two_machines_optimal() -> None:
    # j0: A3 then B2; j1: B3 then A2. Best: both start at 0, makespan 5.
    p = Problem(
        jobs=(
            Job(id="j0", operations=(op("0", A=3), op("1", B=2))),
            Job(id="j1", operations=(op("0", B=3), op("1", A=2))),
        ),
        machines=(Machine(id="A"), Machine(id="B")),
    )
    s = solve(p, FAST)
    assert s.status == "optimal"
    assert s.makespan == 5
    assert s.bound == 5
    check_feasible(p, s)


def test_flexible_operation_takes_the_free_machine() -> None:
    jobs = tuple(Job(id=f"j{i}", operations=(op("0", A=4, B=4),)) for i in range(2))
    p = Problem(jobs=jobs, machines=(Machine(id="A"), Machine(id="B")))
    s = solve(p, FAST)
    assert s.makespan == 4
    assert {a.machine for a in s.assignments} == {"A", "B"}


def test_closed_window_is_not_crossed() -> None:
    # 5 units of work, machine closed in [3, 10): the operation cannot straddle, so it ends at 15.
    p = Problem(
        jobs=(Job(id="j", operations=(op("0", A=5),)),),
        machines=(Machine(id="A", closed=((3, 10),)),),
    )
    s = solve(p, FAST)
    assert s.makespan == 15
    check_feasible(p, s)


def test_sequence_dependent_setup_groups_families() -> None:
    # Two red and one blue job on one machine; switching colour costs 10 either way.
    fam = {("red", "blue"): 10, ("blue", "red"): 10}
    jobs = (
        Job(id="r1", operations=(op("0", A=1),), family="red"),
        Job(id="b1", operations=(op("0", A=1),), family="blue"),
        Job(id="r2", operations=(op("0", A=1),), family="red"),
    )
    s = solve(Problem(jobs=jobs, machines=(Machine(id="A", setup=fam),)), FAST)
    assert s.makespan == 13  # one changeover, not two
    order = [a.job for a in s.by_machine()["A"]]
    assert order.index("b1") in (0, 2)


def test_release_and_transfer_times() -> None:
    p = Problem(
        jobs=(
            Job(
                id="j",
                release=7,
                operations=(Operation(id="0", options={"A": 2}, transfer_after=4), op("1", B=1)),
            ),
        ),
        machines=(Machine(id="A"), Machine(id="B")),
    )
    s = solve(p, FAST)
    assert s.makespan == 7 + 2 + 4 + 1


def test_infeasible_due_dates_give_a_schedule_naming_the_late_orders() -> None:
    jobs = (
        Job(id="big", operations=(op("0", A=10),), due=5, weight=1),
        Job(id="rush", operations=(op("0", A=3),), due=3, weight=5),
    )
    s = solve(Problem(jobs=jobs, machines=(Machine(id="A"),)), Settings(objective="tardiness"))
    assert s.status == "optimal"
    # rush first (weight 5), big ends at 13: 8 late; rush on time.
    assert [(x.job, x.late_by) for x in s.late] == [("big", 8)]
    assert s.objective == 8


def test_weighted_mix_counts_both_terms() -> None:
    jobs = (Job(id="a", operations=(op("0", A=4),), due=2),)
    s = solve(
        Problem(jobs=jobs, machines=(Machine(id="A"),)),
        Settings(objective="mix", makespan_weight=3, tardiness_weight=2),
    )
    assert s.objective == 3 * 4 + 2 * 2


def test_fixed_operation_stays_and_conflicts_are_infeasible_not_raised() -> None:
    jobs = (Job(id="a", operations=(op("0", A=4),)), Job(id="b", operations=(op("0", A=4),)))
    machines = (Machine(id="A"),)
    fixed = {("b", "0"): Fixed(machine="A", start=0)}
    s = solve(Problem(jobs=jobs, machines=machines, fixed=fixed), FAST)
    assert next(a for a in s.assignments if a.job == "b").start == 0
    both = {**fixed, ("a", "0"): Fixed(machine="A", start=2)}
    bad = solve(Problem(jobs=jobs, machines=machines, fixed=both), FAST)
    assert bad.status == "infeasible"
    assert "fixed" in bad.message
    assert bad.assignments == ()


def test_warm_start_hint_is_accepted() -> None:
    p = jsplib.load(DATA / "la01")
    base = dispatch.mwkr(p)
    hint = {(a.job, a.op): (a.machine, a.start) for a in base.assignments}
    s = solve(p, Settings(time_limit_s=5, workers=1, hint=hint))
    assert s.makespan is not None
    assert s.makespan <= base.makespan  # type: ignore[operator]
    check_feasible(p, s)


@pytest.mark.parametrize(
    ("kwargs", "msg"),
    [
        ({"time_limit_s": 0}, "time_limit_s"),
        ({"time_limit_s": 864_000}, "time_limit_s"),
        ({"workers": 0}, "workers"),
        ({"workers": 64}, "workers"),
        ({"objective": "profit"}, "objective"),
    ],
)
def test_settings_are_bounded(kwargs: dict[str, object], msg: str) -> None:
    with pytest.raises(ValidationFailed, match=msg):
        Settings(**kwargs)  # type: ignore[arg-type]


def test_size_guard_refuses_with_a_clear_message() -> None:
    ops = tuple(op(str(k), A=1) for k in range(1000))
    jobs = tuple(Job(id=str(i), operations=ops) for i in range(MAX_OPERATIONS // 1000 + 80))
    with pytest.raises(ValidationFailed, match="decompose"):
        Problem(jobs=jobs, machines=(Machine(id="A"),))


def test_unknown_machine_refused() -> None:
    with pytest.raises(ValidationFailed, match="unknown machines \\['Z'\\]"):
        Problem(jobs=(Job(id="j", operations=(op("0", Z=1),)),), machines=(Machine(id="A"),))


def test_dispatch_baseline_is_feasible_and_not_better_than_the_optimum() -> None:
    p = jsplib.load(DATA / "ft10")
    b = dispatch.mwkr(p)
    check_feasible(p, b)
    assert b.makespan is not None
    assert b.makespan >= 930


def test_overlapping_closed_windows_merge() -> None:
    # maintenance (2, 6) and a breakdown (4, 9) overlap: one window (2, 9), not infeasible
    p = Problem(
        jobs=(Job(id="j", operations=(op("0", A=3),)),),
        machines=(Machine(id="A", closed=((2, 6), (4, 9))),),
    )
    s = solve(p, FAST)
    assert s.status == "optimal"
    assert s.makespan == 12


PROBE = """
import asyncio, os, signal
from helan.apps.builtin.scheduling.solver.model import Settings, solve
from helan.apps.builtin.scheduling.solver.problem import Job, Machine, Operation, Problem

async def main():
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
    p = Problem(jobs=(Job(id="j", operations=(Operation(id="0", options={"A": 3}),)),),
                machines=(Machine(id="A"),))
    await asyncio.to_thread(solve, p, Settings(time_limit_s=1, workers=1))  # as the app does
    os.kill(os.getpid(), signal.SIGINT)
    await asyncio.wait_for(stop.wait(), 5)
    print("stopped cleanly")

asyncio.run(main())
"""


def test_a_solve_leaves_the_processs_sigint_handler_alone() -> None:
    """CP-SAT catches Ctrl+C during a solve unless told not to, and leaves SIGINT at its
    default afterwards: ``helan run`` then died on Ctrl+C instead of stopping cleanly (the
    first-start test saw exit -2). Checked in a process of its own, at the C level."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "stopped cleanly" in done.stdout
