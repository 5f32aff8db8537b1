"""How every benchmark reports: a readable table, then one JSON object as the very last line."""

from __future__ import annotations

import sys
from collections.abc import Mapping

import orjson
from rich.console import Console
from rich.table import Table


def report(
    title: str, figures: Mapping[str, object], notes: Mapping[str, str] | None = None
) -> None:
    """Print ``figures`` as a table (with optional per-field notes) and then as JSON, last."""
    console = Console(file=sys.stdout, soft_wrap=True)
    table = Table(title=title)
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("note")
    for key, value in figures.items():
        shown = (
            f"{value:,.3f}"
            if isinstance(value, float)
            else f"{value:,}"
            if isinstance(value, int)
            else str(value)
        )
        table.add_row(key, shown, (notes or {}).get(key, ""))
    console.print(table)
    sys.stdout.flush()
    sys.stdout.write(orjson.dumps(dict(figures)).decode() + "\n")
    sys.stdout.flush()
