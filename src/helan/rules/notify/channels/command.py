"""A device command (the thing model's service) through the platform's command service, with
its checks: the device and the command must exist in the tenant and the params must fit.

A refusal by those checks, or a device that answers ``failure``, goes straight to the dead
letters (sending again would not change the answer); a timeout or an unreachable broker is
retried. The command is audited with the channel as its actor (``notify:<channel>``).
"""

from __future__ import annotations

from typing import Any

from helan.core.errors import NotFound, StorageUnavailable, ValidationFailed
from helan.rules.notify.channels.base import ChannelSpec, SendContext, SendFailed
from helan.rules.notify.configs import CommandConfig
from helan.security.principal import Principal, Role
from helan.services.commands import send_command

NO_COMMANDS = "commands need the api role's MQTT connection"


def principal(channel: ChannelSpec) -> Principal:
    """Who the audit trail shows: the tenant's channel, acting with an operator's rights."""
    return Principal(
        kind="api_key", subject=f"notify:{channel.id}", tenant=channel.tenant, role=Role.OPERATOR
    )


async def send(ctx: SendContext, channel: ChannelSpec, notice: dict[str, Any]) -> None:
    config = CommandConfig.model_validate(channel.config)
    if ctx.commands is None:
        raise SendFailed(NO_COMMANDS)
    try:
        row = await send_command(
            ctx.meta,
            ctx.commands,
            principal(channel),
            channel.tenant,
            config.device,
            service=config.command,
            params=config.params,
            timeout_s=config.timeout_s,
        )
    except (NotFound, ValidationFailed) as exc:
        raise SendFailed(f"command refused: {exc.message}", permanent=True) from None
    except StorageUnavailable as exc:
        raise SendFailed(exc.message) from None
    if row.status == "success":
        return
    detail = f"command {row.id} {row.status}: {row.reason or ''} {row.message or ''}".strip()
    raise SendFailed(detail[:500], permanent=row.status == "failure")
