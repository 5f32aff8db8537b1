"""The CJK font a report is set in, found at run time among the places Linux distributions put
one. ReportLab embeds TrueType outlines only, so the list names TrueType fonts (WenQuanYi,
Droid, AR PL), not Noto CJK, whose outlines are CFF; a TrueType collection (``.ttc``) is
opened at its first face. ``make`` installs WenQuanYi Micro Hei (``fonts-wqy-microhei``).

Without one a report would print boxes for every Chinese character, so rendering stops with
:class:`FontMissing` naming the paths that were tried and the package to install.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]  # untyped
from reportlab.pdfbase.ttfonts import TTFont  # type: ignore[import-untyped]  # untyped

from helan.core.errors import HelanError

FONT_NAME = "HelanCJK"
KNOWN_FONTS: tuple[str, ...] = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",  # Fedora
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",  # Arch
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/System/Library/Fonts/STHeiti Light.ttc",  # macOS
)
_lock = threading.Lock()
_registered: str | None = None


class FontMissing(HelanError):
    code = "cjk_font_missing"
    status = 503


def find_cjk_font(candidates: Sequence[str] = KNOWN_FONTS) -> Path:
    for candidate in candidates:
        path = Path(candidate)
        if path.is_file():
            return path
    raise FontMissing(
        "no CJK TrueType font for PDF reports; tried: "
        + ", ".join(candidates)
        + " (install one: apt-get install fonts-wqy-microhei)"
    )


def cjk_font(candidates: Sequence[str] = KNOWN_FONTS) -> str:
    """The registered font's name, registering it on first use (ReportLab's registry is
    process-wide)."""
    global _registered
    with _lock:
        if _registered is None:
            path = find_cjk_font(candidates)
            index = {"subfontIndex": 0} if path.suffix.lower() == ".ttc" else {}
            pdfmetrics.registerFont(TTFont(FONT_NAME, str(path), **index))
            _registered = FONT_NAME
        return _registered
