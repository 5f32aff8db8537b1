"""Webhook: the notice as JSON, signed so the receiver can tell it came from this platform.

Headers: ``X-Helan-Signature: sha256=<hex HMAC-SHA256(secret, body)>`` over the exact body
bytes, ``X-Helan-Timestamp`` (epoch seconds of this attempt) and ``Idempotency-Key`` (the same
on every attempt of one delivery: a receiver that saw it already can answer 2xx and skip it).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import orjson

from helan.rules.notify.channels.base import ChannelSpec, SendContext
from helan.rules.notify.configs import WebhookConfig

FIELDS = (
    "key",
    "tenant",
    "alarm_id",
    "rule_id",
    "device",
    "kind",
    "severity",
    "message",
    "ts_ms",
    "values",
)


def body(notice: dict[str, Any]) -> bytes:
    return orjson.dumps({name: notice.get(name) for name in FIELDS})


def signature(secret: str, payload: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def verify(secret: str, payload: bytes, header: str) -> bool:
    """What a receiver does (and the tests do): constant-time compare of the signature."""
    return hmac.compare_digest(signature(secret, payload), header)


async def send(ctx: SendContext, channel: ChannelSpec, notice: dict[str, Any]) -> None:
    config = WebhookConfig.model_validate(channel.config)
    payload = body(notice)
    headers = {
        "X-Helan-Signature": signature(config.secret.get_secret_value(), payload),
        "X-Helan-Timestamp": str(ctx.clock() // 1000),
        "Idempotency-Key": str(notice.get("key", "")),
        "User-Agent": "helan-notify/1",
    }
    await ctx.post_json(config.url, payload, headers)
