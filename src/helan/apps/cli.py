"""``helan app``: scaffold a third-party app (``helan app new NAME``)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Apps: scaffold a new third-party app.", no_args_is_help=True)
