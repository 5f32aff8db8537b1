"""JSPLIB's "standard" job-shop format, so any instance file can be solved.

Lines starting with ``#`` are comments; the first other line is ``n m`` (jobs, machines); then
n lines of m pairs ``machine duration`` (machines from 0) in each job's order of operations.
Errors name the line (1-based) so a broken file is fixed where it is broken.
"""

from __future__ import annotations

from pathlib import Path

from helan.apps.builtin.scheduling.solver.problem import Job, Machine, Operation, Problem
from helan.core.errors import ValidationFailed

MAX_FILE_BYTES = 20_000_000


def parse(text: str, *, name: str = "instance") -> Problem:
    rows: list[tuple[int, list[int]]] = []
    for no, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            rows.append((no, [int(x) for x in stripped.split()]))
        except ValueError:
            raise ValidationFailed(f"{name} line {no}: not integers: {stripped[:60]!r}") from None
    if not rows:
        raise ValidationFailed(f"{name}: no 'jobs machines' line")
    no, head = rows[0]
    if len(head) != 2 or head[0] < 1 or head[1] < 1:
        raise ValidationFailed(f"{name} line {no}: expected 'jobs machines' (two positive ints)")
    n, m_count = head
    if len(rows) - 1 != n:
        raise ValidationFailed(f"{name}: header says {n} jobs, the file has {len(rows) - 1}")
    jobs = []
    for j, (no, vals) in enumerate(rows[1:]):
        if len(vals) != 2 * m_count:
            raise ValidationFailed(
                f"{name} line {no}: expected {m_count} 'machine duration' pairs, "
                f"got {len(vals) / 2:g}"
            )
        ops = []
        for k in range(m_count):
            mach, dur = vals[2 * k], vals[2 * k + 1]
            if not 0 <= mach < m_count:
                raise ValidationFailed(f"{name} line {no}: machine {mach} not in 0..{m_count - 1}")
            if dur < 0:
                raise ValidationFailed(f"{name} line {no}: negative duration {dur}")
            ops.append(Operation(id=str(k), options={str(mach): dur}))
        jobs.append(Job(id=str(j), operations=tuple(ops)))
    return Problem(jobs=tuple(jobs), machines=tuple(Machine(id=str(i)) for i in range(m_count)))


def load(path: Path) -> Problem:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ValidationFailed(f"{path}: larger than {MAX_FILE_BYTES:,} bytes")
    return parse(path.read_text(encoding="utf-8"), name=path.name)
