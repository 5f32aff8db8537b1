"""Advisories against the inventory: for each asset and advisory, affected / fixed / not
affected / needs review, with the CVSS, CVEs and remediations behind it.

Every product-tree leaf is indexed by its vendor (normalised like the inventory's) and its
product name cut into word prefixes, so an asset finds its candidate leaves by lookups, not
by a scan; assets that share vendor, model, order number and firmware are decided once.

Product names match when equal after normalisation (case, punctuation, the vendor's own
name in front, parenthesised part numbers apart), when the asset's model is more specific
than the leaf ("ControlLogix 5580" covers "ControlLogix 5580 L8"), or when a part or model
number of the leaf (``6GK5763-1AL00-7DA0``, ``BMXP34*``) matches the asset's. When the leaf
is more specific than the asset ("Modicon M340 CPU" for an asset "Modicon M340") the asset
*needs review*: it may be the affected product. A garbled vendor name never dismisses: such
an asset needs review against every leaf of its product name. A version or range that
cannot be read is *needs review*, never "not affected".
"""

from __future__ import annotations

import fnmatch
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from helan.security.advisories.csaf import AFFECTED, FIXED, NOT_AFFECTED, Advisory, Leaf
from helan.security.advisories.versions import parse_range
from helan.security.assets.cpe import cpe_vendor_product, cpe_version
from helan.security.assets.inventory import InventoryAsset
from helan.security.assets.vendors import normalise_vendor

STATUS_RANK = {"affected": 3, "needs_review": 2, "fixed": 1, "not_affected": 0}
_PARENS = re.compile(r"\(([^)]*)\)")
_NUMBER = re.compile(r"[A-Za-z0-9]+(?:[-./][A-Za-z0-9*]+)+\*?|[A-Za-z]*\d[A-Za-z0-9]*\*")


@lru_cache(maxsize=65536)
def norm_name(text: str) -> str:
    """Case, width and punctuation folded; words joined by one space."""
    s = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.sub(r"[^\w]+", " ", s).split())


@dataclass(frozen=True, slots=True, kw_only=True)
class Match:
    tenant: str
    device: str
    tracking_id: str
    version: str
    title: str
    status: str
    cvss: float | None
    severity: str | None
    cves: tuple[str, ...]
    kev: bool
    products: tuple[str, ...]  # the leaves' full names
    remediations: tuple[dict[str, str | None], ...]
    reasons: tuple[str, ...]

    @property
    def rank(self) -> tuple[int, int, float]:
        """Sort key, highest first: status, known exploitation, CVSS."""
        return (STATUS_RANK[self.status], int(self.kev), self.cvss or 0.0)


@dataclass(slots=True)
class _Entry:
    advisory: Advisory
    leaf: Leaf


@dataclass(slots=True)
class _Verdict:
    status: str
    cvss: float | None = None
    severity: str | None = None
    cves: set[str] = field(default_factory=set)
    products: set[str] = field(default_factory=set)
    remediations: dict[tuple[str, str], str | None] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)


def _vendor_key(name: str | None) -> str | None:
    return normalise_vendor(name).key if name else None


_GENERIC = re.compile(r"(?: (?:series|family|firmware|software|product line|products?))+$")


def model_forms(text: str) -> list[str]:
    """A product name's comparable forms: without its parenthesised parts ("R04 CPU"), with
    them as words ("R04 EN CPU"); generic tails ("Series", "Firmware") dropped."""
    forms = [norm_name(_PARENS.sub(" ", text)), norm_name(text)]
    return list(dict.fromkeys(_GENERIC.sub("", f) for f in forms if f))


def _product_names(leaf: Leaf, vendor: str | None) -> list[str]:
    raw = leaf.product or (leaf.families[-1] if leaf.families else leaf.name)
    out = []
    for s in model_forms(raw):
        if vendor:
            for v in sorted(
                {norm_name(vendor), norm_name(vendor.split()[0])}, key=len, reverse=True
            ):
                if v and s.startswith(v + " "):
                    s = s[len(v) + 1 :]
                    break
        out.append(s)
    return out


def _numbers(leaf: Leaf) -> list[str]:
    found = list(leaf.model_numbers)
    for text in (leaf.product or "", leaf.name):
        for group in _PARENS.findall(text):
            found.extend(m.group(0) for m in _NUMBER.finditer(group))
    return [n.casefold() for n in found if len(n) >= 4]


def _literal_prefix(pattern: str) -> str:
    """The part of an order-number pattern before its first wildcard: every number it matches
    starts with it, so patterns are looked up by the prefixes of a number, not scanned."""
    cut = min((i for i, c in enumerate(pattern) if c in "*?["), default=len(pattern))
    return pattern[:cut]


def _prefixes(name: str) -> list[str]:
    words = name.split()
    return [" ".join(words[:i]) for i in range(1, len(words) + 1)]


class Matcher:
    """The leaves of ``advisories`` indexed for matching; ``kev``: CVE ids known exploited."""

    def __init__(self, advisories: Iterable[Advisory], kev: Iterable[str] = ()) -> None:
        self.kev = frozenset(kev)
        self.advisories: list[Advisory] = []
        # vendor -> exact normalised product -> entries; vendor -> word prefix -> entries
        self._exact: defaultdict[str | None, dict[str, list[_Entry]]] = defaultdict(dict)
        self._longer: defaultdict[str | None, dict[str, list[_Entry]]] = defaultdict(dict)
        # vendor -> literal prefix of an order-number pattern -> (pattern, entry)
        self._numbers: defaultdict[str | None, dict[str, list[tuple[str, _Entry]]]] = defaultdict(
            dict
        )
        self._any_vendor: dict[str, list[_Entry]] = defaultdict(list)
        self._cache: dict[tuple[str | None, str, str, str, bool], list[_Decided]] = {}
        for adv in advisories:
            self.add(adv)

    def add(self, adv: Advisory) -> None:
        self.advisories.append(adv)
        self._cache.clear()
        for leaf in adv.leaves.values():
            vendor = _vendor_key(leaf.vendor)
            if vendor is None and leaf.cpe:
                vp = cpe_vendor_product(leaf.cpe)
                vendor = _vendor_key(vp[0].replace("_", " ")) if vp else None
            names = _product_names(leaf, leaf.vendor)
            if leaf.cpe:
                vp = cpe_vendor_product(leaf.cpe)
                names += [norm_name(vp[1].replace("_", " "))] if vp else []
            entry = _Entry(adv, leaf)
            for product in dict.fromkeys(n for n in names if n):
                for key in dict.fromkeys((product, product.replace(" ", ""))):
                    self._exact[vendor].setdefault(key, []).append(entry)
                    self._any_vendor[key].append(entry)
                for p in _prefixes(product)[:-1]:
                    self._longer[vendor].setdefault(p, []).append(entry)
            for n in _numbers(leaf):
                self._numbers[vendor].setdefault(_literal_prefix(n), []).append((n, entry))

    def match(self, asset: InventoryAsset) -> list[Match]:
        """Every advisory with a leaf naming ``asset``'s product, best first."""
        if not asset.model and not asset.order_number:
            return []
        key = (
            asset.vendor_key,
            asset.model or "",
            asset.order_number or "",
            asset.firmware or "",
            asset.vendor_garbled,
        )
        decided = self._cache.get(key)
        if decided is None:
            decided = self._decide(asset)
            self._cache[key] = decided
        out = [d.to_match(asset, self.kev) for d in decided]
        out.sort(key=lambda m: m.rank, reverse=True)
        return out

    def match_all(self, assets: Iterable[InventoryAsset]) -> list[Match]:
        return [m for a in assets for m in self.match(a)]

    def _candidates(self, asset: InventoryAsset) -> list[tuple[_Entry, str]]:
        """(entry, strength): ``exact`` | ``broader`` (the leaf names more than the asset
        does: review) | ``garbled`` (vendor unreadable: review)."""
        models = model_forms(asset.model) if asset.model else []
        found: dict[int, tuple[_Entry, str]] = {}

        def put(e: _Entry, strength: str) -> None:
            old = found.get(id(e))
            if old is None or (old[1] != "exact" and strength == "exact"):
                found[id(e)] = (e, strength)

        if asset.vendor_garbled:
            for model in models:
                for p in [*_prefixes(model), model.replace(" ", "")]:
                    for e in self._any_vendor.get(p, ()):
                        put(e, "garbled")
            return list(found.values())
        vendor = asset.vendor_key
        if vendor is None:
            return []
        exact, longer = self._exact.get(vendor, {}), self._longer.get(vendor, {})
        for model in models:
            for p in [*_prefixes(model), model.replace(" ", "")]:
                for e in exact.get(p, ()):
                    put(e, "exact")
            for e in longer.get(model, ()):
                put(e, "broader")
        numbers = self._numbers.get(vendor, {})
        for i in dict.fromkeys(x.casefold() for x in (asset.order_number, asset.model) if x):
            for k in range(len(i) + 1):
                for pattern, e in numbers.get(i[:k], ()):
                    if fnmatch.fnmatchcase(i, pattern):
                        put(e, "exact")
        # An advisory that names the asset's product itself speaks for it: its other, more
        # specific leaves ("ControlLogix 5580 Process" beside "ControlLogix 5580") do not.
        named = {id(e.advisory) for e, strength in found.values() if strength == "exact"}
        return [
            (e, st) for e, st in found.values() if st != "broader" or id(e.advisory) not in named
        ]

    def _decide(self, asset: InventoryAsset) -> list[_Decided]:
        per: dict[int, tuple[Advisory, _Verdict]] = {}
        for entry, strength in self._candidates(asset):
            adv, leaf = entry.advisory, entry.leaf
            for vuln in adv.vulnerabilities:
                cat = vuln.status.get(leaf.product_id)
                if cat is None:
                    continue
                status, reason = _leaf_status(cat, leaf, asset.firmware)
                if status is None:
                    continue
                if strength != "exact" and status in ("affected", "not_affected", "fixed"):
                    reason = (
                        "vendor name unreadable"
                        if strength == "garbled"
                        else f"advisory names a more specific product: {leaf.name}"
                    )
                    status = "needs_review"
                slot = per.get(id(adv))
                if slot is None:
                    slot = per[id(adv)] = (adv, _Verdict(status))
                v = slot[1]
                if STATUS_RANK[status] > STATUS_RANK[v.status]:
                    v.status = status
                v.products.add(leaf.name)
                v.reasons.append(reason)
                if status in ("affected", "needs_review"):
                    if vuln.cve:
                        v.cves.add(vuln.cve)
                    score = vuln.scores.get(leaf.product_id)
                    if score is not None and (v.cvss is None or score.score > v.cvss):
                        v.cvss, v.severity = score.score, score.severity
                    for r in vuln.remediations:
                        if leaf.product_id in r.product_ids:
                            v.remediations[(r.category, r.details)] = r.url
        return [_Decided(adv, v) for adv, v in per.values()]


def _leaf_status(cat: str, leaf: Leaf, firmware: str | None) -> tuple[str | None, str]:
    rng = leaf.range
    if rng is None and leaf.cpe and cpe_version(leaf.cpe):
        rng = parse_range(cpe_version(leaf.cpe) or "")
    verdict = True if rng is None else rng.verdict(firmware)
    shown = leaf.version or "all versions"
    if verdict is None:
        why = (
            f"version range not understood: {leaf.version!r}"
            if rng is not None and not rng.parsed
            else f"firmware {firmware!r} cannot be compared with {shown!r}"
            if firmware
            else f"firmware unknown, advisory names {shown!r}"
        )
        return ("needs_review", why) if cat not in NOT_AFFECTED else (None, why)
    if cat in AFFECTED:
        return ("affected" if verdict else "not_affected"), f"{cat} {shown}"
    if cat in FIXED:
        return ("fixed", f"{cat} {shown}") if verdict else (None, "")
    if cat in NOT_AFFECTED:
        return ("not_affected", f"{cat} {shown}") if verdict else (None, "")
    return ("needs_review", f"{cat} {shown}") if verdict else (None, "")


@dataclass(frozen=True, slots=True)
class _Decided:
    advisory: Advisory
    verdict: _Verdict

    def to_match(self, asset: InventoryAsset, kev: frozenset[str]) -> Match:
        v, adv = self.verdict, self.advisory
        cves = tuple(sorted(v.cves))
        return Match(
            tenant=asset.tenant,
            device=asset.device,
            tracking_id=adv.tracking_id,
            version=adv.version,
            title=adv.title,
            status=v.status,
            cvss=v.cvss,
            severity=v.severity,
            cves=cves,
            kev=any(c in kev for c in cves),
            products=tuple(sorted(v.products)),
            remediations=tuple(
                {"category": c, "details": d, "url": u} for (c, d), u in v.remediations.items()
            ),
            reasons=tuple(dict.fromkeys(r for r in v.reasons if r)),
        )


def summarise(matches: Sequence[Match]) -> dict[str, int]:
    counts = dict.fromkeys(STATUS_RANK, 0)
    for m in matches:
        counts[m.status] += 1
    return counts
