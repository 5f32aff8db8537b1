"""``helan models eval steel-co2``: the energy centre on the UCI steel-plant data, in its own
file format: the CO2 column reproduced from the energy column and the data set's factor, and
the ISO 50006 EnPI baseline fit (:mod:`helan.apps.builtin.energy.steel`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from helan.apps.builtin.energy.steel import DEFAULT, evaluate
from helan.core.errors import ValidationFailed
from helan.observe.report import report


def run(
    data: Annotated[
        Path, typer.Option(help="Steel_industry_data.csv (the data set's own format).")
    ] = DEFAULT,
    baseline_end: Annotated[
        str | None, typer.Option(help="Last day of the baseline period (default: half the days).")
    ] = None,
) -> None:
    """CO2 reproduced from energy and the data set's factor; the ISO 50006 EnPI baseline fit."""
    try:
        figures, notes = evaluate(data, baseline_end)
    except (ValidationFailed, OSError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    report("steel-co2: CO2 column and ISO 50006 baseline (UCI steel data)", figures, notes)
