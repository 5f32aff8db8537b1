"""The console's languages: zh-CN first, English second; the browser's Accept-Language decides.

One catalogue file per language (``static/i18n/{lang}.json``), read by the server for the page
title and by the shell for every other string; both have exactly the same keys (tested).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

LANGUAGES = ("zh-CN", "en")
DEFAULT = "zh-CN"


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """Every UI string by language."""
    folder = resources.files("helan.web").joinpath("static", "i18n")
    out: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        out[lang] = json.loads(folder.joinpath(f"{lang}.json").read_text("utf-8"))
    return out


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
