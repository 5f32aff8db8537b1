"""Vendor names made comparable: "Siemens AG", "SIEMENS" and "西门子" are all ``siemens``.

The alias table is data (``vendors.json`` beside this module). A name is looked up after
Unicode NFKC, casefolding, collapsing punctuation and dropping legal suffixes, and after
repairing the commonest mojibake (UTF-8 read as Latin-1 or GBK, e.g. ``è¥¿é—¨å­\x90``). A
name that still has replacement characters or control characters is *garbled*: its assets
go to review instead of being matched or dismissed.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

_SUFFIXES = re.compile(
    r"\b(?:ag|gmbh|inc|incorporated|corp|corporation|co|company|ltd|limited|llc|plc|kg|se|sa|"
    r"s\.a|spa|bv|nv|oy|ab|kk|group|holdings?)\b\.?",
)
_CJK_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "株式会社", "集团", "公司")
_NON_WORD = re.compile(r"[^\w]+")


@dataclass(frozen=True, slots=True)
class VendorName:
    """``key``: the vendor id when known, else the cleaned name (None when garbled)."""

    key: str | None
    known: bool
    garbled: bool


def clean(name: str) -> str:
    """The comparable form of a vendor name (also used for names missing from the table)."""
    s = unicodedata.normalize("NFKC", name).casefold().replace("&", " ")
    for suffix in _CJK_SUFFIXES:
        if s.endswith(suffix) and len(s) > len(suffix):
            s = s[: -len(suffix)]
    s = _NON_WORD.sub(" ", s)
    s = _SUFFIXES.sub(" ", s)
    return "_".join(s.split())


def unmojibake(name: str) -> str:
    """``name`` with UTF-8 bytes that were decoded as Latin-1/cp1252 or GBK decoded again;
    unchanged when that does not give clean text."""
    for codec in ("latin-1", "cp1252", "gbk"):
        try:
            repaired = name.encode(codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        if repaired != name and not _garbled(repaired):
            return repaired
    return name


def _garbled(s: str) -> bool:
    return "\ufffd" in s or any(
        unicodedata.category(c) in ("Cc", "Cs", "Co") and c not in "\t" for c in s
    )


@cache
def aliases() -> dict[str, str]:
    """Cleaned alias -> vendor id, from ``vendors.json``."""
    table = json.loads((Path(__file__).with_name("vendors.json")).read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    for key, names in table.items():
        if key.startswith("_"):
            continue
        out[clean(key)] = key
        for alias in names:
            out[clean(alias)] = key
    return out


@lru_cache(maxsize=65536)
def normalise_vendor(name: str | None) -> VendorName:
    """The vendor id of ``name`` (see the module doc)."""
    if name is None or not name.strip():
        return VendorName(None, False, False)
    text = unmojibake(name.strip())
    if _garbled(text) or _looks_like_mojibake(text):
        return VendorName(None, False, True)
    cleaned = clean(text)
    if not cleaned:
        return VendorName(None, False, False)
    table = aliases()
    if cleaned in table:
        return VendorName(table[cleaned], True, False)
    return VendorName(cleaned, False, False)


def _looks_like_mojibake(s: str) -> bool:
    """Latin-1 letters mixed with symbols as UTF-8 misread leaves them (``Ã©``, ``â€``)."""
    return bool(re.search(r"[ÃÂâå][\u0080-\u00bf€™œ]", s))
