"""What WeCom's and DingTalk's group robots have in common: a JSON POST whose answer carries
``errcode`` (0: accepted). HTTP 200 with another errcode (a bad key, a failed signature, "sent
too fast") is a failure like a 5xx, retried with backoff."""

from __future__ import annotations

from typing import Any

import orjson

from helan.rules.notify.channels.base import SendContext, SendFailed

MAX_CONTENT_BYTES = 4000  # WeCom allows 4096 bytes of markdown; DingTalk about 20,000


def cut(text: str, limit: int = MAX_CONTENT_BYTES) -> str:
    """At most ``limit`` UTF-8 bytes, cut at a character boundary."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore") + "..."


async def post(ctx: SendContext, url: str, payload: dict[str, Any]) -> None:
    response = await ctx.post_json(url, orjson.dumps(payload), {"User-Agent": "helan-notify/1"})
    try:
        answer = response.json()
    except ValueError:
        raise SendFailed(f"robot answered HTTP {response.status_code} without JSON") from None
    code = answer.get("errcode") if isinstance(answer, dict) else None
    if code != 0:
        message = answer.get("errmsg") if isinstance(answer, dict) else None
        raise SendFailed(f"robot refused: errcode {code!r}, errmsg {message!r}"[:500])
