"""WeCom (企业微信) group robot: ``{"msgtype": "markdown", "markdown": {"content": ...}}``."""

from __future__ import annotations

from typing import Any

from helan.rules.notify.channels import robots, text
from helan.rules.notify.channels.base import ChannelSpec, SendContext
from helan.rules.notify.configs import WeComConfig


def payload(notice: dict[str, Any]) -> dict[str, Any]:
    return {"msgtype": "markdown", "markdown": {"content": robots.cut(text.markdown(notice))}}


async def send(ctx: SendContext, channel: ChannelSpec, notice: dict[str, Any]) -> None:
    config = WeComConfig.model_validate(channel.config)
    await robots.post(ctx, config.url, payload(notice))
