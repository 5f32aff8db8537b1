"""The ``helan`` command. Subsystems contribute sub-commands; this module only wires them."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Helan industrial internet platform.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks: a table, then one JSON line with the figures.")
app.add_typer(bench_app, name="bench")

# bench name -> module in helan.bench exposing ``run`` (a Typer command function).
BENCHES = {
    "ingest-http": "ingest_http",
    "ingest-mqtt": "ingest_mqtt",
    "storage": "storage",
    "query": "query",
    "connections": "connections",
    "ident-register": "ident_register",
    "ident-udp": "ident_udp",
    "ident-rest": "ident_rest",
    "ident-hierarchy": "ident_hierarchy",
    "edge-modbus": "edge_modbus",
    "edge-opcua": "edge_opcua",
    "edge-outage": "edge_outage",
    "rules": "rules",
    "console": "console",
    "security": "security",
    "region": "region",
    "jobshop": "jobshop",
    "apps": "apps",
    "trace": "trace",
}
# Sub-applications: name -> module exposing ``app`` (a Typer app).
SUBAPPS = {
    "sim": "helan.sim.cli",
    "admin": "helan.admin.cli",
    "audit": "helan.admin.audit_cli",
    "ident": "helan.ident.cli",
    "edge": "helan.edge.cli",
    "security": "helan.security.cli",
    "models": "helan.models.cli",
    "app": "helan.apps.cli",
}


def _register(argv: Sequence[str] = ()) -> None:
    """Import only what the command line names (``helan edge ...`` loads the gateway, not the
    platform: a gateway box runs in a fraction of the memory); everything for anything else."""
    first, second = (*argv[:2], "", "")[:2]
    benches, subapps = BENCHES, SUBAPPS
    if first in SUBAPPS:
        benches, subapps = {}, {first: SUBAPPS[first]}
    elif first == "bench" and second in BENCHES:
        benches, subapps = {second: BENCHES[second]}, {}
    for name, module in benches.items():
        try:
            mod = importlib.import_module(f"helan.bench.{module}")
        except ModuleNotFoundError as exc:  # a subsystem not installed yet must not break the CLI
            if exc.name and exc.name.startswith("helan"):
                continue
            raise
        bench_app.command(name)(mod.run)
    for name, module in subapps.items():
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("helan"):
                continue
            raise
        app.add_typer(mod.app, name=name)


@app.command()
def run(
    sim: Annotated[bool, typer.Option(help="Also start the simulated factory.")] = False,
    sim_devices: Annotated[int, typer.Option(help="Simulated devices when --sim.")] = 30,
    config: Annotated[Path | None, typer.Option(help="TOML settings file.")] = None,
    host: Annotated[str | None, typer.Option(help="HTTP bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port.")] = None,
    role: Annotated[
        list[str] | None,
        typer.Option(
            help="Roles to run: all (default), api, ingest, rules, apps, ident; repeat or "
            "comma-separate. Roles in separate processes share HELAN_STREAM_URL (NATS JetStream)."
        ),
    ] = None,
) -> None:
    """Start the platform: REST API, MQTT ingest (embedded broker unless HELAN_MQTT_URL is set)."""
    from helan.platform import parse_roles
    from helan.serve import serve

    try:
        roles = parse_roles(role or ["all"])
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--role") from exc
    serve(config=config, host=host, port=port, sim=sim, sim_devices=sim_devices, roles=roles)


def main() -> None:
    _register(sys.argv[1:])
    app()
