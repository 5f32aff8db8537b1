"""The simulated factory inside ``helan run --sim``: same event loop, API called in-process."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import sqlalchemy as sa

from helan.sim.alarms import provision_alarms
from helan.sim.faults import Breakdown, Fault, SkabAnomaly, random_faults
from helan.sim.plan import FactoryPlan, SimDevice
from helan.sim.provision import install_apps, provision
from helan.sim.receivers import HOST, Inbox
from helan.sim.runner import FactoryStats, run_factory
from helan.sim.scheduling_demo import provision_scheduling
from helan.sim.watched_plc import WatchedPlc

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi import FastAPI

    from helan.platform import Platform

log = logging.getLogger(__name__)

# CISA's CSAF advisories shipped with the repository (not with a wheel: then none are imported)
CSAF_DIR = Path(__file__).parents[3] / "data" / "csaf"
FAULT_EVERY_S = 120.0
FAULT_HORIZON_S = 7 * 86_400.0


def _admin_token(platform: Platform) -> str:
    """An access token of the platform's first active administrator, minted in-process: the
    simulator runs inside the platform, so it needs no password."""
    from helan.security.principal import Role
    from helan.security.tokens import AccessTokens, load_secret
    from helan.storage.meta.models import User

    with platform.meta.session() as s:
        username = s.scalar(
            sa.select(User.username)
            .where(User.role == Role.PLATFORM_ADMIN.value, User.disabled.is_(False))
            .order_by(User.created_at)
            .limit(1)
        )
    if username is None:
        raise RuntimeError("no platform administrator exists to provision the simulated factory")
    tokens = AccessTokens(load_secret(platform.settings), platform.settings.access_token_minutes)
    return tokens.issue(username, None, Role.PLATFORM_ADMIN.value)[0]


async def run_embedded_factory(
    app: FastAPI,
    platform: Platform,
    *,
    devices: int,
    stop_event: asyncio.Event,
    on_ready: Callable[[int], None] | None = None,
) -> FactoryStats:
    """Provision the demo enterprise through the app, then publish until ``stop_event``; a random
    fault (SKAB anomaly, stuck sensor, spikes, outage) hits some device every two minutes."""
    plan = FactoryPlan(devices=devices)
    inbox = Inbox(platform.settings.data_dir / "sim-inbox")
    await inbox.start()
    try:
        _use_inbox(platform, inbox)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://helan.internal"
        ) as client:
            token = _admin_token(platform)
            sims = await provision(client, token, plan)
            await provision_alarms(client, token, plan, inbox.webhook_url)
            installed = await install_apps(client, token, plan)
            if installed:
                log.info("simulated factory: apps %s installed in %r", installed, plan.tenant)
        await asyncio.to_thread(_install_anomaly_app, platform, plan.tenant)
        await _scheduling_demo(app, platform, plan, sims)
        log.info("simulated factory: %d devices provisioned in tenant %r", len(sims), plan.tenant)
        await import_advisories(platform, CSAF_DIR)
        if on_ready is not None:
            on_ready(len(sims))
        faults = _first_faults(sims, platform.settings.sim_first_fault_s) + random_faults(
            [(d.device_id, d.kind.kind) for d in sims],
            every_s=FAULT_EVERY_S,
            horizon_s=FAULT_HORIZON_S,
            seed=plan.seed,
        )
        plc = await _watched_plc(platform, plan.tenant, sims)
        try:
            return await run_factory(sims, platform.mqtt_url, stop_event=stop_event, faults=faults)
        finally:
            if plc is not None:
                await plc.stop()
    finally:
        await inbox.stop()


async def _watched_plc(platform: Platform, tenant: str, sims: list[SimDevice]) -> WatchedPlc | None:
    """The pump station's PLC, tapped; its alerts are the first pump's security events."""
    port = platform.settings.sim_plc_port
    pump = next((d.device_id for d in sims if d.kind.kind == "pump"), None)
    if not port or pump is None:
        return None
    plc = WatchedPlc(platform.pipeline, tenant=tenant, device=pump, port=port)
    try:
        await plc.start()
    except OSError as exc:  # the port is taken: the factory runs without its PLC
        log.warning("simulated factory: no watched PLC on port %d: %s", port, exc)
        return None
    log.info("simulated factory: pump-station PLC on 127.0.0.1:%d watched for %s", port, pump)
    return plc


async def import_advisories(platform: Platform, folder: Path) -> int:
    """Import the shipped advisories through the security centre, once the demo's rule on
    ``security_advisory`` is loaded (the events raise alarms only for loaded rules); the
    number of events raised (none on a second start: each is raised once)."""
    from helan.security.principal import Principal, Role
    from helan.services.security_assets import import_folder

    if not await asyncio.to_thread(folder.is_dir):
        log.info("simulated factory: no advisories at %s", folder)
        return 0
    if platform.rules is not None:
        await asyncio.to_thread(platform.rules.reload_now)
    who = Principal(kind="user", subject="simulator", tenant=None, role=Role.PLATFORM_ADMIN)
    done = await import_folder(platform.meta, platform.pipeline, who, folder)
    log.info(
        "simulated factory: %d advisories imported (%d refused), %d security_advisory events",
        done.imported,
        done.refused,
        done.alerts,
    )
    return done.alerts


def _use_inbox(platform: Platform, inbox: Inbox) -> None:
    """Mail goes to the inbox unless an SMTP server is configured; its webhook's host is let
    through the outbound allow-list (loopback is refused otherwise)."""
    settings = platform.settings
    if not settings.smtp_host:
        settings.smtp_host, settings.smtp_port = HOST, inbox.smtp_port
    allowed = f"{HOST}:{inbox.http_port}"
    if allowed not in settings.notify_allowed_hosts:
        settings.notify_allowed_hosts = [*settings.notify_allowed_hosts, allowed]
    log.info(
        "simulated factory inbox: mail and webhooks land in %s (SMTP %s:%d, webhook %s)",
        inbox.folder,
        settings.smtp_host,
        settings.smtp_port,
        inbox.webhook_url,
    )


def _install_anomaly_app(platform: Platform, tenant: str) -> None:
    """The demo tenant has the anomaly and forecast apps, so the pumps' scores and the meters'
    forecasts show (installed once)."""
    from helan.apps.installs import AppInstalls

    installs = AppInstalls(platform.meta)
    installs.reload()
    if tenant not in installs.tenants("anomaly"):
        installs.install(tenant, "anomaly")
    if tenant not in installs.tenants("forecast"):
        installs.install(tenant, "forecast")  # and the meters' load forecast


async def _scheduling_demo(
    app: FastAPI, platform: Platform, plan: FactoryPlan, sims: list[SimDevice]
) -> None:
    """The demo tenant has the scheduling app with a configurable product, orders and a plan
    over the simulated CNCs and presses; a failure is logged, the factory still runs."""
    if platform.apps is None or "scheduling" not in platform.apps.manager.app_ids:
        return
    try:
        await asyncio.to_thread(platform.apps.installs.install, plan.tenant, "scheduling")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://helan.internal") as c:
            placed = await provision_scheduling(c, _admin_token(platform), plan, sims)
        log.info("simulated factory: scheduling demo ready (%d orders placed)", placed)
    except Exception:  # the demo's extra must not stop the factory
        log.exception("simulated factory: scheduling demo failed")


def _first_faults(sims: list[SimDevice], after_s: float) -> list[Fault]:
    """A new user sees alarms within two minutes: the first CNC (or press) breaks down after
    ``after_s`` (a minute by default), the first pump replays SKAB's vibration anomaly (from
    ``other/5.csv``) at 1.5 times it."""
    machines = [d.device_id for d in sims if d.kind.kind in ("cnc", "press")]
    pumps = [d.device_id for d in sims if d.kind.kind == "pump"]
    first: list[Fault] = []
    if machines:
        first.append(Breakdown(device=machines[0], start_s=after_s))
    if pumps:
        first.append(SkabAnomaly(device=pumps[0], recording="other-5", start_s=1.5 * after_s))
    return first
