"""The simulated factory inside ``helan run --sim``: same event loop, API called in-process."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import httpx
import sqlalchemy as sa

from helan.sim.faults import random_faults
from helan.sim.plan import FactoryPlan
from helan.sim.provision import provision
from helan.sim.runner import FactoryStats, run_factory

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable

    from fastapi import FastAPI

    from helan.platform import Platform

log = logging.getLogger(__name__)

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
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://helan.internal") as client:
        sims = await provision(client, _admin_token(platform), plan)
    log.info("simulated factory: %d devices provisioned in tenant %r", len(sims), plan.tenant)
    if on_ready is not None:
        on_ready(len(sims))
    faults = random_faults(
        [(d.device_id, d.kind.kind) for d in sims],
        every_s=FAULT_EVERY_S,
        horizon_s=FAULT_HORIZON_S,
        seed=plan.seed,
    )
    return await run_factory(sims, platform.mqtt_url, stop_event=stop_event, faults=faults)
