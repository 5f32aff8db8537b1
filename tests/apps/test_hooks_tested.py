"""Every hook is exercised by a test (Datasette's tests/test_plugins.py is the model): some
test app in tests/apps/ implements it, and a test named ``test_hook_{name}...`` checks it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.apps.test_hook_docs import hook_names

HERE = Path(__file__).parent
META = {"test_hook_docs.py", "test_hooks_tested.py"}


def _test_sources() -> str:
    files = [p for p in HERE.rglob("*.py") if p.name not in META]
    return "\n".join(p.read_text() for p in files)


@pytest.mark.parametrize("name", hook_names())
def test_hook_has_a_test(name: str) -> None:
    sources = _test_sources()
    implemented = re.search(rf"^@hookimpl\n(async )?def {name}\(", sources, flags=re.MULTILINE)
    tested = re.search(rf"def test_hook_{name}(_|\()", sources)
    assert implemented, f"hook {name}: no test app in tests/apps/ implements it"
    assert tested, f"hook {name}: no test named test_hook_{name}... in tests/apps/"
