"""What a scheduling problem is, as typed frozen data, checked when it is built.

Times are integers in one unit the caller chooses (minutes in the app, the instance's unit in
JSPLIB). An operation lists the machines that may run it with their processing time each (one
machine: a job shop; several: a flexible job shop). Jobs carry release, due date and weight;
due dates are soft (lateness is reported, never infeasible). Machine calendars are closed
windows during which no operation may run and none may straddle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from helan.core.errors import ValidationFailed

# Bounds that keep a solve from running away: one CP-SAT model holds at most this many
# operations (beyond it the caller must decompose, e.g. per shop or per horizon window).
MAX_OPERATIONS = 20_000
MAX_TIME_LIMIT_S = 3_600.0  # one hour per solve
MIN_TIME_LIMIT_S = 0.1
MAX_WORKERS = 16
MAX_TIME = 10**9  # horizon bound in time units (keeps CP-SAT's integer domains sane)


@dataclass(frozen=True, slots=True, kw_only=True)
class Operation:
    """One step of a job: ``options`` maps machine id -> processing time on it."""

    id: str
    options: Mapping[str, int]
    transfer_after: int = 0  # time before the job's next operation may start (transport)

    def __post_init__(self) -> None:
        if not self.options:
            raise ValidationFailed(f"operation {self.id!r}: needs at least one machine")
        for m, d in self.options.items():
            if not isinstance(d, int) or d < 0 or d > MAX_TIME:
                raise ValidationFailed(
                    f"operation {self.id!r}: duration on {m!r} must be an int in 0..{MAX_TIME}"
                )
        if not 0 <= self.transfer_after <= MAX_TIME:
            raise ValidationFailed(f"operation {self.id!r}: transfer_after out of range")


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """An ordered chain of operations (an order's lot on its routing)."""

    id: str
    operations: tuple[Operation, ...]
    release: int = 0
    due: int | None = None
    weight: int = 1
    family: str = ""  # setup family: changeovers between families cost setup time

    def __post_init__(self) -> None:
        if not self.operations:
            raise ValidationFailed(f"job {self.id!r}: needs at least one operation")
        if not 0 <= self.release <= MAX_TIME:
            raise ValidationFailed(f"job {self.id!r}: release must be in 0..{MAX_TIME}")
        if self.due is not None and not 0 <= self.due <= MAX_TIME:
            raise ValidationFailed(f"job {self.id!r}: due must be in 0..{MAX_TIME}")
        if not 0 <= self.weight <= 1000:
            raise ValidationFailed(f"job {self.id!r}: weight must be in 0..1000")
        ids = [o.id for o in self.operations]
        if len(set(ids)) != len(ids):
            raise ValidationFailed(f"job {self.id!r}: operation ids repeat")


@dataclass(frozen=True, slots=True, kw_only=True)
class Machine:
    """A resource; ``closed`` are (start, end) windows it cannot work (maintenance, shifts off).

    ``setup`` maps (from family, to family) -> changeover time on this machine (sequence
    dependent); a pair not listed costs nothing."""

    id: str
    closed: tuple[tuple[int, int], ...] = ()
    setup: Mapping[tuple[str, str], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for s, e in self.closed:
            if not 0 <= s < e <= MAX_TIME:
                raise ValidationFailed(
                    f"machine {self.id!r}: closed window ({s}, {e}) must have 0 <= start < end"
                )
        for pair, t in self.setup.items():
            if not 0 <= t <= MAX_TIME:
                raise ValidationFailed(f"machine {self.id!r}: setup {pair} out of range")


@dataclass(frozen=True, slots=True, kw_only=True)
class Fixed:
    """An operation pinned where it is (started or frozen): it keeps machine and start."""

    machine: str
    start: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    jobs: tuple[Job, ...]
    machines: tuple[Machine, ...]
    fixed: Mapping[tuple[str, str], Fixed] = field(default_factory=dict)  # (job, op) -> where

    def __post_init__(self) -> None:
        n = sum(len(j.operations) for j in self.jobs)
        if n > MAX_OPERATIONS:
            raise ValidationFailed(
                f"{n:,} operations exceed one solve's limit of {MAX_OPERATIONS:,}: "
                "decompose the plan (per shop, per horizon window or per order batch)"
            )
        machine_ids = [m.id for m in self.machines]
        if len(set(machine_ids)) != len(machine_ids):
            raise ValidationFailed("machine ids repeat")
        known = set(machine_ids)
        job_ids = [j.id for j in self.jobs]
        if len(set(job_ids)) != len(job_ids):
            raise ValidationFailed("job ids repeat")
        for j in self.jobs:
            for o in j.operations:
                unknown = sorted(set(o.options) - known)
                if unknown:
                    raise ValidationFailed(
                        f"job {j.id!r} operation {o.id!r}: unknown machines {unknown}"
                    )
        ops = {(j.id, o.id): o for j in self.jobs for o in j.operations}
        for key, f in self.fixed.items():
            if key not in ops:
                raise ValidationFailed(f"fixed operation {key} is not in the problem")
            if f.machine not in ops[key].options:
                raise ValidationFailed(f"fixed operation {key}: machine {f.machine!r} not allowed")

    @property
    def n_operations(self) -> int:
        return sum(len(j.operations) for j in self.jobs)


@dataclass(frozen=True, slots=True, kw_only=True)
class Assignment:
    """Where one operation runs in a schedule."""

    job: str
    op: str
    machine: str
    start: int
    end: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Lateness:
    job: str
    due: int
    completion: int
    late_by: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Schedule:
    """A solve's answer: ``status`` is ``optimal``, ``feasible``, ``infeasible`` or ``unknown``
    (no schedule found in the time limit); ``bound`` is the proven lower bound on the
    objective; ``late`` lists the jobs completing after their due date and by how much."""

    status: str
    objective: int | None
    bound: int | None
    makespan: int | None
    assignments: tuple[Assignment, ...]
    late: tuple[Lateness, ...]
    wall_s: float
    message: str = ""

    def by_machine(self) -> dict[str, list[Assignment]]:
        """Dispatch lists: each machine's operations in start order."""
        out: dict[str, list[Assignment]] = {}
        for a in sorted(self.assignments, key=lambda a: (a.start, a.job)):
            out.setdefault(a.machine, []).append(a)
        return out


def lateness(
    problem: Problem, assignments: list[Assignment] | tuple[Assignment, ...]
) -> tuple[Lateness, ...]:
    """Jobs that complete after their due date, latest first: due dates are soft."""
    done: dict[str, int] = {}
    for a in assignments:
        done[a.job] = max(done.get(a.job, 0), a.end)
    late = [
        Lateness(job=j.id, due=j.due, completion=done[j.id], late_by=done[j.id] - j.due)
        for j in problem.jobs
        if j.due is not None and j.id in done and done[j.id] > j.due
    ]
    return tuple(sorted(late, key=lambda x: (-x.late_by, x.job)))
