"""``helan run``: the platform's roles in one process (all of them by default), optionally with
the simulated factory.

The HTTP server (uvicorn on uvloop) and the platform share one event loop, so the API reads
live state from the same memory the ingest writes to. Every role serves HTTP: the API role the
REST API and console, the others ``/metrics``, ``/healthz`` and ``/readyz`` (and the identifier
node's Handle REST API in the ``ident`` role).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Iterable
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from rich.console import Console
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from helan.api.app import create_app
from helan.config import Settings, load_settings
from helan.observe.http import HttpMetrics
from helan.observe.routes import ops_routes
from helan.platform import ROLES, Platform, parse_roles

log = logging.getLogger("helan")
CHATTY_LIBRARIES = ("alembic", "nats", "transitions", "gmqtt", "httpx", "asyncua", "pymodbus")


def serve(
    *,
    config: Path | None = None,
    host: str | None = None,
    port: int | None = None,
    sim: bool = False,
    sim_devices: int = 30,
    roles: Iterable[str] = ("all",),
) -> None:
    chosen = parse_roles(roles)
    if sim and not {"api", "ingest"} <= chosen:
        raise ValueError("--sim needs the api and ingest roles in this process")
    settings = load_settings(config, http_host=host, http_port=port)
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if logging.getLogger().getEffectiveLevel() >= logging.INFO:
        for name in CHATTY_LIBRARIES:  # their INFO is per connection or per request
            logging.getLogger(name).setLevel(logging.WARNING)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a pinned dependency
        pass
    asyncio.run(_serve(settings, roles=chosen, sim=sim, sim_devices=sim_devices))


def sim_failure_reporter(console: Console) -> Callable[[asyncio.Task[object]], None]:
    """A done-callback saying at once, on the console and in the log, that the simulated factory
    stopped and why; the platform itself keeps running (it is not what failed)."""

    def report(task: asyncio.Task[object]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        log.error("simulated factory stopped", exc_info=exc)
        console.print(
            f"[bold red]Simulated factory stopped: {type(exc).__name__}: {exc}[/] "
            "(the platform keeps running; see the log)"
        )

    return report


def http_app(platform: Platform) -> ASGIApp:
    """The API and console for the ``api`` role; the ops endpoints (and the identifier node's
    Handle REST API) for the others."""
    from helan.web.routes import router as web_router

    if "api" in platform.roles:
        app = create_app(platform)
        app.include_router(web_router)
        return app
    routes: list[BaseRoute] = [*ops_routes(platform.readiness)]
    if platform.ident is not None:
        routes += platform.ident.rest_routes()
    return Starlette(routes=routes, middleware=[Middleware(HttpMetrics)])


async def _serve(settings: Settings, *, roles: frozenset[str], sim: bool, sim_devices: int) -> None:
    from helan.admin.bootstrap import bootstrap_admin

    platform = Platform.build(settings, roles)
    admin_password = bootstrap_admin(platform.meta, settings) if "api" in roles else None
    app = http_app(platform)
    await platform.start()

    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.http_host,
            port=settings.http_port,
            log_level="warning",
            lifespan="off",
        )
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server_task = asyncio.create_task(server.serve())
    # uvicorn exposes readiness only as a flag, so poll it.
    while not server.started and not server_task.done():  # noqa: ASYNC110
        await asyncio.sleep(0.05)

    base = f"http://{settings.http_host}:{settings.http_port}"
    console = Console(soft_wrap=True)
    if roles != frozenset(ROLES):
        console.print(
            f"[bold green]Helan roles {','.join(sorted(roles))} running[/]  {base}/metrics"
        )
        await _run_until_stopped(console, stop, server, server_task, platform, None)
        return
    sim_task: asyncio.Task[object] | None = None
    if sim:
        from helan.sim.embedded import run_embedded_factory

        def ready(n: int) -> None:
            console.print(f"Simulated factory: tenant 'demo', {n} devices publishing over MQTT")

        assert isinstance(app, FastAPI)  # --sim implies the api role
        sim_task = asyncio.create_task(
            run_embedded_factory(
                app, platform, devices=sim_devices, stop_event=stop, on_ready=ready
            ),
            name="helan-sim",
        )
        sim_task.add_done_callback(sim_failure_reporter(console))
    console.print(f"[bold green]Helan is running[/]  console: {base}/   API docs: {base}/docs")
    console.print(f"MQTT: {platform.mqtt_url}   data: {settings.data_dir.resolve()}")
    ident_wire = (
        f"udp+tcp {settings.http_host}:{settings.ident_port}" if settings.ident_port else "off"
    )
    console.print(f"Identifiers: Handle {ident_wire}   REST: {base}/api/handles/<prefix>/<suffix>")
    if admin_password:
        console.print(
            f"[bold yellow]First start: platform admin 'admin' password: {admin_password}[/] "
            f"(also saved to {settings.data_dir / 'admin-password.txt'}; change it)"
        )
    if sim:
        # What is publishing is said once it is true (ready above), not before.
        console.print(f"Simulated factory: provisioning {sim_devices} devices in tenant 'demo' ...")
    await _run_until_stopped(console, stop, server, server_task, platform, sim_task)


async def _run_until_stopped(
    console: Console,
    stop: asyncio.Event,
    server: uvicorn.Server,
    server_task: asyncio.Task[None],
    platform: Platform,
    sim_task: asyncio.Task[object] | None,
) -> None:
    console.print("Press Ctrl+C to stop.")
    await stop.wait()
    console.print("stopping ...")
    if sim_task is not None:
        sim_task.cancel()
        # A failure was reported when it happened; stopping must not raise it again.
        await asyncio.gather(sim_task, return_exceptions=True)
    server.should_exit = True
    await server_task
    await platform.stop()
