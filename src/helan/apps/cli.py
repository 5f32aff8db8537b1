"""``helan app``: scaffold a third-party app (``helan app new NAME``) and check the energy
centre on the UCI steel data (``helan app steel-co2``)."""

from __future__ import annotations

import typer

from helan.apps.builtin.energy.steel import run as steel_co2

app = typer.Typer(help="Apps: scaffold a new app; check the energy centre.", no_args_is_help=True)
app.command("steel-co2")(steel_co2)
