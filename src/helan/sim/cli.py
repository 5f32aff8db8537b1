"""``helan sim``: run the simulated factory against a running platform."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import httpx
import typer
from rich.console import Console

from helan.sim.faults import Fault, ReconnectStorm, random_faults
from helan.sim.plan import MAX_DEVICES, FactoryPlan
from helan.sim.provision import login, provision
from helan.sim.runner import Factory

if TYPE_CHECKING:  # the gateway's modules load only for the commands that use them
    from helan.edge.config import EdgeConfig
    from helan.sim.edge_provision import EdgeCredential

app = typer.Typer(
    help="The simulated factory (pumps, power meters, CNC machines, presses) and demo PLCs.",
    no_args_is_help=True,
)
console = Console()


async def _run(
    api: str,
    mqtt: str,
    plan: FactoryPlan,
    admin_user: str,
    admin_password: str,
    seconds: float,
    fault_every: float,
    storm_at: float,
) -> None:
    async with httpx.AsyncClient(base_url=api, timeout=30) as client:
        token = await login(client, admin_user, admin_password)
        t0 = time.perf_counter()
        sims = await provision(client, token, plan)
    console.print(
        f"provisioned {len(sims)} devices in tenant '{plan.tenant}' "
        f"in {time.perf_counter() - t0:.1f} s"
    )

    faults: list[Fault] = []
    if fault_every > 0:
        horizon = seconds if seconds > 0 else 7 * 86_400.0
        devices = [(d.device_id, d.kind.kind) for d in sims]
        faults.extend(
            random_faults(devices, every_s=fault_every, horizon_s=horizon, seed=plan.seed)
        )
    if storm_at > 0:
        faults.append(ReconnectStorm(start_s=storm_at))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if seconds > 0:
        loop.call_later(seconds, stop.set)

    factory = Factory(sims, mqtt)
    await factory.connect_all()
    console.print(f"{factory.online()} of {len(sims)} devices connected to {mqtt}; Ctrl+C stops")
    run = asyncio.create_task(factory.run(stop, faults))
    while not run.done():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(run), 10)
        s = factory.stats
        console.print(
            f"online {factory.online()}/{s.devices}  published {s.published:,}  acked {s.acked:,}  "
            f"skipped {s.skipped:,}  storms {s.storms}  outages {s.outages}"
        )
    await factory.drain()
    await factory.disconnect_all()


@app.command("run")
def run(
    api: Annotated[
        str, typer.Option(help="The platform's HTTP base URL.")
    ] = "http://127.0.0.1:8000",
    mqtt: Annotated[
        str, typer.Option(help="The broker the devices publish to.")
    ] = "mqtt://127.0.0.1:1883",
    devices: Annotated[
        int, typer.Option(min=1, max=MAX_DEVICES, help="Number of devices (a mix of kinds).")
    ] = 100,
    tenant: Annotated[
        str, typer.Option(help="Tenant (enterprise) id to create and fill.")
    ] = "demo",
    admin_user: Annotated[
        str, typer.Option(help="Platform administrator to provision as.")
    ] = "admin",
    admin_password: Annotated[
        str,
        typer.Option(
            envvar="HELAN_ADMIN_PASSWORD", prompt=True, hide_input=True, help="Its password."
        ),
    ] = "",
    seconds: Annotated[
        float, typer.Option(help="Stop after this long; 0 runs until Ctrl+C.")
    ] = 0.0,
    fault_every: Annotated[
        float, typer.Option(help="A random fault every N seconds; 0 for none.")
    ] = 120.0,
    storm_at: Annotated[
        float, typer.Option(help="A reconnect storm N seconds in; 0 for none.")
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the factory's layout and signals.")] = 2024,
) -> None:
    """Provision the demo enterprise through the REST API, then publish every second over MQTT."""
    plan = FactoryPlan(tenant=tenant, devices=devices, seed=seed)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            _run(api, mqtt, plan, admin_user, admin_password, seconds, fault_every, storm_at)
        )


@app.command("plan")
def show_plan(
    devices: Annotated[int, typer.Option(min=1, max=MAX_DEVICES)] = 100,
    tenant: Annotated[str, typer.Option()] = "demo",
) -> None:
    """Print which devices a run would create, by kind and line, without connecting anything."""
    from helan.sim.metrics import KIND_DEFS
    from helan.sim.plan import counts, layout

    plan = FactoryPlan(tenant=tenant, devices=devices)
    lines: dict[str, int] = {}
    for spec in layout(plan):
        lines[spec.line] = lines.get(spec.line, 0) + 1
    for kind, n in counts(plan).items():
        k = KIND_DEFS[kind]
        console.print(f"{k.zh} {k.en}: {n} (device type {k.device_type}, {len(k.metrics)} metrics)")
    for line, n in sorted(lines.items()):
        console.print(f"  {line}: {n}")


@app.command("plc")
def plc(
    modbus_port: Annotated[int, typer.Option(min=1, max=65535, help="Modbus TCP port.")] = 5020,
    opcua_port: Annotated[int, typer.Option(min=1, max=65535, help="OPC UA port.")] = 4840,
    host: Annotated[str, typer.Option(help="Address the Modbus server binds.")] = "127.0.0.1",
    period: Annotated[
        float, typer.Option(min=0.01, help="Seconds between OPC UA value changes.")
    ] = 0.5,
) -> None:
    """Serve the simulated pump PLC (Modbus TCP) and oven PLC (OPC UA) until Ctrl+C."""
    from helan.sim.plc.cli import serve_plcs

    asyncio.run(
        serve_plcs(
            host=host,
            modbus_port=modbus_port,
            opcua_port=opcua_port,
            period_s=period,
            console=console,
        )
    )


@app.command("attack")
def attack_plc(
    port: Annotated[
        int, typer.Option(min=1, max=65535, help="The PLC's port (make run: 5502).")
    ] = 5502,
    host: Annotated[str, typer.Option(help="The PLC's address.")] = "127.0.0.1",
) -> None:
    """Play the suite's attack traffic against a simulated PLC: a write from a new peer,
    diagnostics, an address scan. The console's security events show what the detector saw."""
    from helan.sim.watched_plc import attack

    try:
        done = asyncio.run(attack(host, port))
    except OSError as exc:
        console.print(f"[red]{exc}")
        raise typer.Exit(1) from None
    for step in done:
        console.print(f"sent: {step}")


async def _provision_edge(
    api: str, config: EdgeConfig, admin_user: str, admin_password: str
) -> tuple[dict[str, dict[str, Any]], EdgeCredential]:
    from helan.sim.edge_provision import provision_edge, read_opcua_types, thing_models

    opcua = {c.name: await read_opcua_types(c) for c in config.opcua}
    models = thing_models(config, opcua)
    async with httpx.AsyncClient(base_url=api, timeout=30) as client:
        token = await login(client, admin_user, admin_password)
        return models, await provision_edge(client, token, config, models)


@app.command("provision-edge")
def provision_edge_cmd(
    config: Annotated[
        Path, typer.Option(help="The gateway's configuration to provision for.")
    ] = Path("examples/edge.toml"),
    out: Annotated[
        Path, typer.Option(help="Where to write the config with the gateway's credential.")
    ] = Path("var/edge.toml"),
    api: Annotated[
        str, typer.Option(help="The platform's HTTP base URL.")
    ] = "http://127.0.0.1:8000",
    admin_user: Annotated[str, typer.Option(help="Platform administrator.")] = "admin",
    admin_password: Annotated[
        str,
        typer.Option(
            envvar="HELAN_ADMIN_PASSWORD", prompt=True, hide_input=True, help="Its password."
        ),
    ] = "",
    mqtt: Annotated[
        str | None,
        typer.Option(help="Broker URL for the gateway (the MQTT line `helan run` printed)."),
    ] = None,
) -> None:
    """Create the gateway's devices and thing models from its config, write it with a credential.

    OPC UA types are read from the PLCs, so they must be running."""
    from helan.edge.config import EdgeConfigError, load_config
    from helan.sim.edge_provision import with_credential, write_secret_file
    from helan.sim.provision import ProvisionError

    try:
        cfg = load_config(config)
        models, cred = asyncio.run(_provision_edge(api, cfg, admin_user, admin_password))
        text = with_credential(
            config.read_text(encoding="utf-8"), cred.username, cred.password, mqtt
        )
    except (EdgeConfigError, ProvisionError, httpx.HTTPError) as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    write_secret_file(out, text)
    for device, model in models.items():
        services = ", ".join(s["name"] for s in model["services"]) or "none"
        console.print(
            f"device {device}: {len(model['properties'])} properties, services: {services}"
        )
    console.print(f"gateway credential of {cred.device} ({cred.username}) written to {out}")
    console.print(f"next: helan edge --config {out}")
