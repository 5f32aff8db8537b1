"""``helan bench jobshop``: CP-SAT on JSPLIB instances against the best known bounds, the MWKR
dispatching rule as in-run baseline, and a 50-machine, 2,000-operation plant rescheduled after
a breakdown.

Instances are read in JSPLIB's own format (``data/jobshop/instances``; any file can be named
with ``--instances``). Gaps are to the best known upper bound in ``data/jobshop/bounds.json``.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Annotated

import typer

from helan.apps.builtin.scheduling.solver import dispatch, jsplib
from helan.apps.builtin.scheduling.solver.model import Settings, solve
from helan.apps.builtin.scheduling.solver.problem import Job, Machine, Operation, Problem
from helan.apps.builtin.scheduling.solver.reschedule import Breakdown, reschedule
from helan.observe.report import report

DATA = Path(__file__).parents[3] / "data" / "jobshop"
DEFAULT = ["ft10", *(f"la{i:02d}" for i in range(1, 41)), *(f"ta{i:02d}" for i in range(1, 11))]


def plant(machines: int = 50, jobs: int = 200, ops_per_job: int = 10, seed: int = 7) -> Problem:
    """A flexible plant: machines in groups of 5, each operation may run on 2 of its group's
    machines (durations 5..60, the second option 0..20% slower), 2 setup families."""
    rng = random.Random(seed)
    groups = [list(range(g, min(g + 5, machines))) for g in range(0, machines, 5)]
    out = []
    for j in range(jobs):
        ops = []
        for k in range(ops_per_job):
            grp = groups[rng.randrange(len(groups))]
            a, b = rng.sample(grp, 2)
            d = rng.randint(5, 60)
            ops.append(
                Operation(
                    id=str(k),
                    options={f"m{a}": d, f"m{b}": int(d * rng.uniform(1.0, 1.2))},
                    transfer_after=rng.randint(0, 3),
                )
            )
        out.append(Job(id=f"j{j}", operations=tuple(ops), release=rng.randint(0, 200)))
    return Problem(jobs=tuple(out), machines=tuple(Machine(id=f"m{i}") for i in range(machines)))


def _resolve(names: list[str]) -> list[Path]:
    paths = []
    for n in names:
        p = Path(n)
        paths.append(p if p.is_file() else DATA / "instances" / n)
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise typer.BadParameter(f"no instance files: {missing[:5]}")
    return paths


def run(
    time_limit: Annotated[float, typer.Option(help="Seconds per instance.")] = 60.0,
    workers: Annotated[int, typer.Option(help="CP-SAT workers.")] = 2,
    instances: Annotated[
        str, typer.Option(help="Comma-separated names in data/jobshop/instances, or paths.")
    ] = ",".join(DEFAULT),
    reschedule_limit: Annotated[float, typer.Option(help="Seconds for the reschedule.")] = 20.0,
    skip_reschedule: Annotated[bool, typer.Option(help="Leave the plant reschedule out.")] = False,
) -> None:
    """Solve JSPLIB instances with CP-SAT and reschedule a 2,000-operation plant."""
    bounds = json.loads((DATA / "bounds.json").read_text())
    paths = _resolve([n.strip() for n in instances.split(",") if n.strip()])
    settings = Settings(time_limit_s=time_limit, workers=workers)
    rows: dict[str, dict[str, object]] = {}
    gaps: dict[str, float] = {}
    ratios = []
    la_optimal = la_count = 0
    for p in paths:
        problem = jsplib.load(p)
        base = dispatch.mwkr(problem)
        sol = solve(problem, settings)
        bks = bounds.get(p.name, {}).get("upper_bound")
        gap = None if bks is None or sol.makespan is None else 100 * (sol.makespan - bks) / bks
        rows[p.name] = {
            "makespan": sol.makespan,
            "status": sol.status,
            "bound": sol.bound,
            "bks": bks,
            "mwkr": base.makespan,
            "s": round(sol.wall_s, 1),
        }
        print(p.name, rows[p.name], flush=True)
        if sol.makespan and base.makespan:
            ratios.append(sol.makespan / base.makespan)
        if p.name.startswith("la"):
            la_count += 1
            la_optimal += sol.status == "optimal"
        if p.name.startswith("ta") and gap is not None:
            gaps[p.name] = round(gap, 3)
    figures: dict[str, object] = {
        "ft10_makespan": rows.get("ft10", {}).get("makespan"),
        "la_solved_optimal": la_optimal,
        "la_instances": la_count,
        "ta01_10_mean_gap_pct": round(sum(gaps.values()) / len(gaps), 3) if gaps else None,
        "ta_gap_by_instance": gaps,
        "workers": workers,
        "time_limit_s": time_limit,
        "baseline": "MWKR/SPT dispatching rule",
        "cpsat_to_baseline_makespan_ratio": round(sum(ratios) / len(ratios), 4) if ratios else None,
    }
    if not skip_reschedule:
        figures.update(_reschedule_figures(workers, reschedule_limit))
    report(
        "jobshop: CP-SAT on JSPLIB",
        figures,
        {
            "la_solved_optimal": "of la_instances, proven optimal within the limit",
            "cpsat_to_baseline_makespan_ratio": "mean of CP-SAT / MWKR makespan (< 1: better)",
            "reschedule_s": "50 machines, 2,000 operations, after a breakdown",
        },
    )


def _reschedule_figures(workers: int, limit: float) -> dict[str, object]:
    problem = plant()
    first = solve(problem, Settings(time_limit_s=limit, workers=workers, relative_gap=0.02))
    assert first.makespan is not None, first.message
    busiest = max(
        (m for m in first.by_machine().items()), key=lambda kv: sum(a.end - a.start for a in kv[1])
    )[0]
    now = first.makespan // 4
    t0 = time.perf_counter()
    res = reschedule(
        problem,
        first,
        now=now,
        breakdown=Breakdown(machine=busiest, until=now + first.makespan // 5),
        frozen=30,
        settings=Settings(time_limit_s=limit, workers=workers, relative_gap=0.02),
    )
    took = time.perf_counter() - t0
    base = dispatch.mwkr(problem)
    return {
        "reschedule_s": round(took, 2),
        "reschedule_status": res.schedule.status,
        "reschedule_operations": problem.n_operations,
        "reschedule_fixed": res.fixed,
        "reschedule_deviation": res.deviation,
        "reschedule_moved_machine": res.moved_machine,
        "plant_makespan_before": first.makespan,
        "plant_makespan_after": res.schedule.makespan,
        "plant_mwkr_makespan": base.makespan,
    }
