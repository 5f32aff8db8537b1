"""DingTalk (钉钉) group robot: ``{"msgtype": "markdown", "markdown": {"title", "text"}}``.

With a sign secret ("加签"), each request carries ``timestamp`` (epoch ms) and ``sign`` =
Base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")) in its query, as DingTalk documents;
DingTalk refuses a timestamp more than an hour off.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from helan.rules.notify.channels import robots, text
from helan.rules.notify.channels.base import ChannelSpec, SendContext
from helan.rules.notify.configs import DingTalkConfig


def sign(secret: str, timestamp_ms: int) -> str:
    """The ``sign`` value (before URL encoding)."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


def signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    parts = urlsplit(url)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k not in ("timestamp", "sign")
    ]
    query += [("timestamp", str(timestamp_ms)), ("sign", sign(secret, timestamp_ms))]
    return urlunsplit(parts._replace(query=urlencode(query)))


def payload(notice: dict[str, Any]) -> dict[str, Any]:
    return {
        "msgtype": "markdown",
        "markdown": {"title": text.title(notice)[:100], "text": robots.cut(text.markdown(notice))},
    }


async def send(ctx: SendContext, channel: ChannelSpec, notice: dict[str, Any]) -> None:
    config = DingTalkConfig.model_validate(channel.config)
    url = config.url
    if config.secret is not None:
        url = signed_url(url, config.secret.get_secret_value(), ctx.clock())
    await robots.post(ctx, url, payload(notice))
