"""``helan edge --config edge.toml``: run the gateway until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Annotated

import orjson
import typer

from helan.core.tasks import wait_set
from helan.edge.config import EdgeConfig, EdgeConfigError, load_config
from helan.edge.gateway import Gateway

app = typer.Typer(help="The edge gateway: Modbus TCP / OPC UA to MQTT with store-and-forward.")
log = logging.getLogger("helan.edge")


async def _serve(config: EdgeConfig, health_every_s: float) -> None:
    gateway = Gateway(config)  # protocol clients bind to the running loop
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await gateway.start()
    try:
        while not stop.is_set():
            if not await wait_set(stop, health_every_s):
                log.info("health %s", orjson.dumps(gateway.health()).decode())
    finally:
        await gateway.stop()


@app.callback(invoke_without_command=True)
def edge(
    config: Annotated[Path, typer.Option(help="Gateway configuration (TOML).")],
    health_every: Annotated[float, typer.Option(help="Seconds between health log lines.")] = 30.0,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "INFO",
) -> None:
    """Read the configured PLCs and forward their data upstream; nothing is lost in outages."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        cfg = load_config(config)
    except EdgeConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    asyncio.run(_serve(cfg, health_every))
