"""Every hook has a one-line docstring and a section in docs/apps.md (Datasette's
tests/test_docs.py is the model): a hook added without docs fails here."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from helan.apps import hookspecs

DOCS = Path(__file__).parents[2] / "docs" / "apps.md"


def hook_names() -> list[str]:
    return sorted(
        name
        for name, fn in vars(hookspecs).items()
        if inspect.isfunction(fn) and hasattr(fn, f"{hookspecs.PROJECT}_spec")
    )


def test_there_are_hooks() -> None:
    assert len(hook_names()) >= 8


@pytest.mark.parametrize("name", hook_names())
def test_hook_has_a_one_line_docstring(name: str) -> None:
    doc = inspect.getdoc(getattr(hookspecs, name))
    assert doc, f"hook {name} has no docstring"
    assert "\n" not in doc.strip(), f"hook {name}: the docstring is one line"


@pytest.mark.parametrize("name", hook_names())
def test_hook_is_documented(name: str) -> None:
    headings = re.findall(r"^### (\w+)\(", DOCS.read_text(), flags=re.MULTILINE)
    assert name in headings, f"hook {name} has no '### {name}(...)' section in docs/apps.md"


def test_docs_name_no_hook_that_does_not_exist() -> None:
    headings = re.findall(r"^### (\w+)\(", DOCS.read_text(), flags=re.MULTILINE)
    assert sorted(headings) == hook_names()
