"""Version ranges of advisories, tolerant of how vendors write them.

A range is parsed once into a :class:`Range`; :meth:`Range.verdict` then says whether one
firmware version falls in it. Three answers, never two: ``True`` (in range), ``False`` (out
of range), ``None`` (cannot tell: needs review). Anything not understood, the range or the
version, gives ``None`` and never "not affected".

Understood:

* ``vers:`` strings (the PURL version-range spec) through ``univers`` for its schemes
  (``vers:pypi/...``, ``vers:npm/...``, ``vers:generic/...``); ``vers:all/*`` is every
  version; ``vers:all/<V2.4.0`` (CISA's) and other constraints on ``all`` use the firmware
  comparison below.
* CISA's free text: ``<=V2.4``, ``< 2.07.2``, ``>=R3.08.10|<=R3.09.50`` (``|`` joins the
  bounds of one interval, as in ``vers``), ``<=firmware_32``, ``>FW16_up_to_and_including_FW26``,
  ``<V33.017_V34.014_V35.013_V36.011`` (one fix per release line), ``all versions``, ``*``,
  exact versions (``v.32.011``, ``1.0.0``) and wildcards (``V6``, ``V7.6x``, ``R210.X``).

Firmware versions compare by their numbers (``V2.4.0`` = ``2.4`` = ``R2.4``); prefixes such as
``V``, ``R``, ``FW``, ``firmware_`` and ``v.`` are dropped, and hot-fix words (``HF``, ``TCU``,
``SP``, ``Update``, ``build``, ``Feature_Pack``) count as further numbers. A version with other
words in it cannot be ordered and gives ``None``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from univers.version_range import VersionRange

Key = tuple[int, ...]

_PREFIX = re.compile(r"^(?:firmware|version|ver|fw|v\.|v|r)[\s_.:-]*", re.IGNORECASE)
_SUFFIX_WORDS = re.compile(
    r"(?:hf|hotfix|tcu|sp|update|upd|build|b|p|patch|feature[_\s-]*pack|rev|fp)",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"\d+|[A-Za-z]+(?:[_\s-]+[A-Za-z]+)*")
_OPS = ("<=", ">=", "!=", "<", ">", "=")
_ALL = frozenset({"*", "all", "all versions", "any", "all versions.", "vers:all/*", "alle"})


@lru_cache(maxsize=65536)
def version_key(text: str) -> Key | None:
    """The numbers of a firmware version, for ordering; None when it cannot be ordered."""
    s = text.strip()
    s = _PREFIX.sub("", s, count=1)
    if not s or len(s) > 100:
        return None
    numbers: list[int] = []
    tokens = _TOKEN.findall(s)
    if not tokens or not tokens[0].isdigit():
        return None
    for tok in tokens:
        if tok.isdigit():
            numbers.append(int(tok))
        elif _SUFFIX_WORDS.fullmatch(tok) or _PREFIX.fullmatch(tok):
            continue
        else:
            return None
    if not numbers or re.search(r"[^\w.\s()/+-]", s):
        return None
    return _trim(tuple(numbers))


def _trim(key: Key) -> Key:
    end = len(key)
    while end > 1 and key[end - 1] == 0:
        end -= 1
    return key[:end]


def _cmp(a: Key, b: Key) -> int:
    n = max(len(a), len(b))
    pa, pb = a + (0,) * (n - len(a)), b + (0,) * (n - len(b))
    return (pa > pb) - (pa < pb)


@dataclass(frozen=True, slots=True)
class Bound:
    op: str
    key: Key

    def holds(self, v: Key) -> bool:
        c = _cmp(v, self.key)
        return {
            "<": c < 0,
            "<=": c <= 0,
            ">": c > 0,
            ">=": c >= 0,
            "=": c == 0,
            "!=": c != 0,
        }[self.op]


@dataclass(frozen=True, slots=True)
class Range:
    """A parsed range. ``kind``: ``all``, ``bounds`` (intervals), ``lines`` (one fix per
    release line), ``prefix`` (a version and everything under it), ``vers`` (univers) or
    ``unknown`` (never decides)."""

    text: str
    kind: str
    intervals: tuple[tuple[Bound, ...], ...] = ()
    equals: tuple[Key, ...] = ()
    excluded: tuple[Key, ...] = ()
    prefix: Key = ()
    digit_prefix: bool = False  # "R15x": the last number starts with 15 (150, 151, ...)
    vers: VersionRange | None = None

    @property
    def parsed(self) -> bool:
        return self.kind != "unknown"

    def verdict(self, version: str | None) -> bool | None:
        """Whether ``version`` is in the range; None when that cannot be told."""
        if self.kind == "all":
            return True
        if self.kind == "unknown" or version is None or not version.strip():
            return None
        if self.kind == "vers":
            return _vers_contains(self.vers, version)
        key = version_key(version)
        if key is None:
            return None
        if self.kind == "prefix":
            return _has_prefix(key, self.prefix, digits=self.digit_prefix)
        if self.kind == "lines":
            return _in_lines(self.intervals, key)
        if any(_cmp(key, e) == 0 for e in self.excluded):
            return False
        if any(_cmp(key, e) == 0 for e in self.equals):
            return True
        if not self.intervals:
            return False
        return any(all(b.holds(key) for b in iv) for iv in self.intervals)


def _has_prefix(key: Key, prefix: Key, *, digits: bool) -> bool:
    if _cmp(key, prefix) == 0 or key[: len(prefix)] == prefix:
        return True
    n = len(prefix)
    if not digits or len(key) < n or key[: n - 1] != prefix[: n - 1]:
        return False
    return str(key[n - 1]).startswith(str(prefix[n - 1]))


def _vers_contains(vr: VersionRange | None, version: str) -> bool | None:
    if vr is None:
        return None
    try:
        make: Any = vr.version_class  # univers is untyped: a class attribute set per scheme
        return bool(make(_PREFIX.sub("", version.strip(), count=1)) in vr)
    except Exception:  # noqa: BLE001 - univers raises many kinds for a version it cannot read
        return None


def _in_lines(lines: tuple[tuple[Bound, ...], ...], key: Key) -> bool:
    """``<V33.017_V34.014``: a version of line 33 is affected below 33.017, of line 34 below
    34.014; a line older than every listed one is affected, a newer one is not."""
    fixes = [iv[0].key for iv in lines]
    for fix in fixes:
        if key[0] == fix[0]:
            return _cmp(key, fix) < 0
    return key[0] < min(f[0] for f in fixes)


def _bound(text: str) -> Bound | None:
    t = text.strip()
    for op in _OPS:
        if t.startswith(op):
            key = version_key(t[len(op) :])
            return Bound(op, key) if key is not None else None
    return None


def _intervals(bounds: list[Bound]) -> tuple[tuple[Bound, ...], ...] | None:
    """Comparators as ``vers`` reads them: sorted by version, a lower bound pairs with the
    next upper bound; an upper bound alone is open below, a lower bound alone open above."""
    ordered = sorted(bounds, key=lambda b: (b.key + (0,) * 8)[:8])
    out: list[tuple[Bound, ...]] = []
    pending: Bound | None = None
    for b in ordered:
        if b.op in (">", ">="):
            if pending is not None:
                return None
            pending = b
        else:
            out.append((pending, b) if pending is not None else (b,))
            pending = None
    if pending is not None:
        out.append((pending,))
    return tuple(out)


_FW_RANGE = re.compile(
    r"^(>=?)\s*(?:fw)?\s*([\w.]+?)_up_to_and_including_(?:fw)?\s*([\w.]+)$", re.IGNORECASE
)
_WILDCARD = re.compile(r"^(.*?\d)(\.?)[xX*]$")


@lru_cache(maxsize=16384)
def parse_range(text: str) -> Range:
    """Parse a ``product_version_range`` or ``product_version`` name (see the module doc)."""
    raw = text
    t = " ".join(text.split())
    low = t.casefold()
    if low in _ALL:
        return Range(raw, "all")
    if low.startswith("vers:"):
        return _parse_vers(raw, t)
    m = _FW_RANGE.match(t)
    if m:
        lo, hi = version_key(m.group(2)), version_key(m.group(3))
        if lo is None or hi is None:
            return Range(raw, "unknown")
        return Range(raw, "bounds", intervals=((Bound(m.group(1), lo), Bound("<=", hi)),))
    if t.startswith("<") and "_" in t and not t.startswith("<="):
        lines = _parse_lines(t[1:])
        if lines is not None:
            return Range(raw, "lines", intervals=lines)
    if any(t.startswith(op) for op in _OPS):
        return _parse_constraints(raw, t.split("|"))
    m = _WILDCARD.match(t)
    if m:
        key = version_key(m.group(1))
        if key is None:
            return Range(raw, "unknown")
        return Range(raw, "prefix", prefix=key, digit_prefix=not m.group(2))
    key = version_key(t)
    if key is None:
        return Range(raw, "unknown")
    if len(key) == 1 and re.fullmatch(r"[vVrR]\.?\s*\d+", t):
        return Range(raw, "prefix", prefix=key)  # "V6": every 6.x
    return Range(raw, "bounds", equals=(key,))


def _parse_lines(body: str) -> tuple[tuple[Bound, ...], ...] | None:
    parts = [p for p in re.split(r"_(?=[vVrR]?\d)", body) if p]
    if len(parts) < 2:
        return None
    keys = [version_key(p) for p in parts]
    if any(k is None or len(k) < 2 for k in keys):
        return None
    firsts = [k[0] for k in keys if k is not None]
    if len(set(firsts)) != len(firsts):
        return None
    return tuple((Bound("<", k),) for k in keys if k is not None)


def _parse_constraints(raw: str, parts: list[str]) -> Range:
    bounds: list[Bound] = []
    equals: list[Key] = []
    excluded: list[Key] = []
    for part in parts:
        p = part.strip()
        if not p:
            return Range(raw, "unknown")
        if not any(p.startswith(op) for op in _OPS):
            key = version_key(p)
            if key is None:
                return Range(raw, "unknown")
            equals.append(key)
            continue
        b = _bound(p)
        if b is None:
            return Range(raw, "unknown")
        if b.op == "=":
            equals.append(b.key)
        elif b.op == "!=":
            excluded.append(b.key)
        else:
            bounds.append(b)
    intervals = _intervals(bounds)
    if intervals is None:
        return Range(raw, "unknown")
    return Range(raw, "bounds", intervals=intervals, equals=tuple(equals), excluded=tuple(excluded))


def _parse_vers(raw: str, t: str) -> Range:
    scheme, _, constraints = t[5:].partition("/")
    if not constraints:
        return Range(raw, "unknown")
    if scheme.casefold() in ("all", "generic", "") and constraints.strip() == "*":
        return Range(raw, "all")
    if scheme.casefold() == "all":
        return _parse_constraints(raw, constraints.split("|"))
    try:
        vr = VersionRange.from_string(t)  # type: ignore[no-untyped-call]  # univers is untyped
    except Exception:  # noqa: BLE001 - univers raises ValueError and its own kinds
        return Range(raw, "unknown")
    return Range(raw, "vers", vers=vr)
