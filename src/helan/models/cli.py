"""``helan models``: train and evaluate a model from files in its data set's own format
(``helan models eval <name> ...``), and list the registry (``helan models list``).

Each model contributes one ``eval`` command: a module in :data:`EVALS` exposing ``run`` (a
Typer command function) that prints a table and, last, one JSON line (:func:`helan.observe.report`).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from helan.models.registry import Registry

app = typer.Typer(help="Models: train, evaluate, list.", no_args_is_help=True)
eval_app = typer.Typer(help="Train and evaluate one model; a table, then one JSON line.")
app.add_typer(eval_app, name="eval")

# model name -> module exposing ``run``
EVALS: dict[str, str] = {
    "anomaly": "helan.models.anomaly.eval_skab",
    "bearing": "helan.models.bearing.eval_cwru",
    "nab": "helan.models.anomaly.eval_nab",
    "rul": "helan.models.rul.cli",
    "forecast": "helan.models.forecast.cli",
    "tep": "helan.models.process.eval_tep",
    "steel-co2": "helan.apps.builtin.energy.eval_steel",
}


def default_root() -> Path:
    from helan.config import Settings

    return Settings().data_dir / "models"


for _name, _module in EVALS.items():
    eval_app.command(_name)(importlib.import_module(_module).run)


@app.command("list")
def list_models(
    root: Annotated[Path | None, typer.Option(help="Registry folder.")] = None,
) -> None:
    """Every stored model version with its data set and metrics."""
    table = Table(title="models")
    for col in ("name", "version", "dataset", "metrics", "code"):
        table.add_column(col)
    for card in Registry(root or default_root()).cards():
        metrics = ", ".join(f"{k}={v}" for k, v in card.metrics.items())
        table.add_row(card.name, str(card.version), card.dataset, metrics, card.code_version)
    Console().print(table)
