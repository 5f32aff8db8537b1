"""``helan app``: scaffold a third-party app (``helan app new NAME``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from helan.apps.scaffold import create
from helan.core.errors import HelanError

app = typer.Typer(help="Apps: scaffold a new third-party app.", no_args_is_help=True)


@app.command("new")
def new(
    name: Annotated[str, typer.Argument(help="App id: lower-case letters, digits, _.")],
    directory: Annotated[Path, typer.Option("--dir", help="Where to make the folder.")] = Path(),
) -> None:
    """Write a working app package (entry point, hooks, a page, tests) in DIR/NAME."""
    try:
        root = create(name, directory)
    except HelanError as exc:
        raise typer.BadParameter(exc.message) from exc
    typer.echo(f"created {root}: pip install {root} && pytest {root / 'tests'}")
