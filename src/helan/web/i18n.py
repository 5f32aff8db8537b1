"""The console's languages: zh-CN first, English second; the browser's Accept-Language decides."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

LANGUAGES = ("zh-CN", "en")
DEFAULT = "zh-CN"


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """Every UI string by language (``static/messages.json``); both languages have the same keys."""
    text = resources.files("helan.web").joinpath("static", "messages.json").read_text("utf-8")
    data: dict[str, dict[str, str]] = json.loads(text)
    return data


def negotiate(accept_language: str | None) -> str:
    """The supported language the browser prefers most (RFC 9110 q-values); zh-CN by default."""
    best, best_q = DEFAULT, -1.0
    for position, item in enumerate((accept_language or "").split(",")):
        tag, _, params = item.strip().partition(";")
        tag = tag.strip().lower()
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        if tag.startswith("zh"):
            lang = "zh-CN"
        elif tag.startswith("en"):
            lang = "en"
        else:
            continue
        # Equal q: the earlier entry wins (a tiny penalty for later positions).
        score = q - position * 1e-6
        if q > 0 and score > best_q:
            best, best_q = lang, score
    return best
