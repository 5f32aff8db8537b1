from __future__ import annotations

from pathlib import Path

import pytest

from helan.apps.builtin.scheduling.solver import jsplib
from helan.core.errors import ValidationFailed

DATA = Path(__file__).parents[3] / "data" / "jobshop" / "instances"


def test_reads_ft10() -> None:
    p = jsplib.load(DATA / "ft10")
    assert len(p.jobs) == 10
    assert len(p.machines) == 10
    first = p.jobs[0].operations[0]
    assert dict(first.options) == {"0": 29}
    assert dict(p.jobs[0].operations[1].options) == {"1": 78}


def test_reads_taillard_with_leading_spaces() -> None:
    p = jsplib.load(DATA / "ta01")
    assert p.n_operations == 15 * 15


@pytest.mark.parametrize(
    ("text", "msg"),
    [
        ("", "no 'jobs machines'"),
        ("# c\n2\n", "line 2"),
        ("2 2\n0 1 1 2\n", "header says 2 jobs"),
        ("1 2\n0 1 1\n", "line 2: expected 2"),
        ("1 2\n0 1 5 2\n", "machine 5 not in 0..1"),
        ("1 1\n0 x\n", "line 2: not integers"),
    ],
)
def test_broken_files_name_the_line(text: str, msg: str) -> None:
    with pytest.raises(ValidationFailed, match=msg):
        jsplib.parse(text)
