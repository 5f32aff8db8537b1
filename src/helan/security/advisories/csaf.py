"""CSAF 2.0 documents: checked, then read into what matching needs.

The OASIS JSON schema is not in the environment, so the required structure is checked here:
the schema's required members of ``document`` (category, csaf_version 2.0, publisher,
title, tracking with id, version, status, dates and revision history), the types of the
product tree and of vulnerabilities, and CSAF's first mandatory test (6.1.1): every product
id a vulnerability names is defined in the product tree (a dangling id is refused). Sizes are
checked on the bytes before parsing. Text (notes, remediations) is kept as given: it is data,
shown as text by the console, never markup.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from helan.core.errors import PayloadTooLarge, ValidationFailed
from helan.security.advisories.versions import Range, parse_range

MAX_BYTES = 10 * 1024 * 1024
MAX_LEAVES = 100_000
MAX_DEPTH = 30

AFFECTED = ("known_affected", "first_affected", "last_affected")
FIXED = ("fixed", "first_fixed")
NOT_AFFECTED = ("known_not_affected",)
REVIEW = ("under_investigation", "recommended")
STATUSES = AFFECTED + FIXED + NOT_AFFECTED + REVIEW


@dataclass(frozen=True, slots=True, kw_only=True)
class Leaf:
    """One product of the tree: its vendor, product name, version (range) and helpers."""

    product_id: str
    name: str
    vendor: str | None
    product: str | None
    families: tuple[str, ...]
    version: str | None  # a product_version or product_version_range branch's name
    range: Range | None
    cpe: str | None
    purl: str | None
    model_numbers: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Score:
    score: float
    severity: str | None
    vector: str | None
    version: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Remediation:
    category: str
    details: str
    url: str | None
    product_ids: frozenset[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class Vulnerability:
    cve: str | None
    title: str | None
    status: Mapping[str, str]  # product id -> its product_status category
    scores: Mapping[str, Score]  # product id -> the highest score naming it
    remediations: tuple[Remediation, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Advisory:
    tracking_id: str
    version: str
    title: str
    publisher: str
    category: str
    status: str
    lang: str | None
    initial_release: str
    current_release: str
    notes: tuple[dict[str, str], ...]
    leaves: Mapping[str, Leaf]
    vulnerabilities: tuple[Vulnerability, ...]
    cves: tuple[str, ...] = field(default=())

    @property
    def max_cvss(self) -> float | None:
        found = [s.score for v in self.vulnerabilities for s in v.scores.values()]
        return max(found) if found else None


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, loc: tuple[str | int, ...], message: str, kind: str = "csaf_invalid") -> None:
        if len(self.items) < 50:
            self.items.append({"loc": list(loc), "message": message, "type": kind})


def load(data: bytes, *, max_bytes: int = MAX_BYTES) -> Advisory:
    """Check and read one CSAF document. PayloadTooLarge past ``max_bytes`` (before parsing),
    ValidationFailed with every problem found (``details``: loc, message, type)."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"CSAF document of {len(data)} bytes exceeds {max_bytes}", code="too_large"
        )
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ValidationFailed(f"not JSON: {exc}", code="csaf_invalid") from exc
    return read(doc)


def _str(obj: Mapping[str, Any], key: str, loc: tuple[str | int, ...], errs: _Errors) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        errs.add((*loc, key), f"{key} is required (a non-empty string)")
        return ""
    return value


def _obj(value: Any, loc: tuple[str | int, ...], errs: _Errors) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        errs.add(loc, "must be an object")
        return {}
    return value


def _list(value: Any, loc: tuple[str | int, ...], errs: _Errors) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        errs.add(loc, "must be an array")
        return []
    return value


def read(doc: Any) -> Advisory:
    """Check and read a parsed CSAF document (see :func:`load`)."""
    errs = _Errors()
    root = _obj(doc, ("body",), errs)
    document = _obj(root.get("document"), ("document",), errs)
    loc: tuple[str | int, ...] = ("document",)
    category = _str(document, "category", loc, errs)
    if document.get("csaf_version") != "2.0":
        errs.add((*loc, "csaf_version"), 'csaf_version must be "2.0"')
    title = _str(document, "title", loc, errs)
    publisher = _obj(document.get("publisher"), (*loc, "publisher"), errs)
    for key in ("category", "name", "namespace"):
        _str(publisher, key, (*loc, "publisher"), errs)
    tracking = _obj(document.get("tracking"), (*loc, "tracking"), errs)
    tl = (*loc, "tracking")
    tracking_id = _str(tracking, "id", tl, errs)
    version = _str(tracking, "version", tl, errs)
    status = _str(tracking, "status", tl, errs)
    if status and status not in ("draft", "final", "interim"):
        errs.add((*tl, "status"), "status must be draft, final or interim")
    initial = _str(tracking, "initial_release_date", tl, errs)
    current = _str(tracking, "current_release_date", tl, errs)
    if not _list(tracking.get("revision_history"), (*tl, "revision_history"), errs):
        errs.add((*tl, "revision_history"), "revision_history needs at least one entry")
    notes = tuple(_notes(_list(document.get("notes"), (*loc, "notes"), errs), errs))
    leaves = _product_tree(root.get("product_tree"), errs)
    vulns = tuple(
        _vulnerabilities(
            _list(root.get("vulnerabilities"), ("vulnerabilities",), errs), leaves, errs
        )
    )
    if errs.items:
        first = errs.items[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValidationFailed(
            f"invalid CSAF document: {where}: {first['message']}",
            code="csaf_invalid",
            details=errs.items,
        )
    return Advisory(
        tracking_id=tracking_id,
        version=version,
        title=title,
        publisher=str(publisher.get("name")),
        category=category,
        status=status,
        lang=document.get("lang") if isinstance(document.get("lang"), str) else None,
        initial_release=initial,
        current_release=current,
        notes=notes,
        leaves=leaves,
        vulnerabilities=vulns,
        cves=tuple(v.cve for v in vulns if v.cve),
    )


def _notes(items: list[Any], errs: _Errors) -> Iterator[dict[str, str]]:
    for i, n in enumerate(items):
        n = _obj(n, ("document", "notes", i), errs)
        text = n.get("text")
        if not isinstance(text, str):
            errs.add(("document", "notes", i, "text"), "text is required")
            continue
        yield {
            "category": str(n.get("category", "")),
            "title": str(n.get("title", "")),
            "text": text[:20000],
        }


def _helper(product: Mapping[str, Any]) -> tuple[str | None, str | None, tuple[str, ...]]:
    h = product.get("product_identification_helper")
    if not isinstance(h, dict):
        return None, None, ()
    cpe = h.get("cpe") if isinstance(h.get("cpe"), str) else None
    purl = h.get("purl") if isinstance(h.get("purl"), str) else None
    numbers: list[str] = []
    for key in ("model_numbers", "skus"):
        got = h.get(key)
        if isinstance(got, list):
            numbers.extend(x for x in got if isinstance(x, str))
    return cpe, purl, tuple(numbers)


def _product_tree(tree: Any, errs: _Errors) -> dict[str, Leaf]:
    leaves: dict[str, Leaf] = {}
    if tree is None:
        return leaves
    tree = _obj(tree, ("product_tree",), errs)

    def add(product: Any, loc: tuple[str | int, ...], path: list[tuple[str, str]]) -> None:
        product = _obj(product, loc, errs)
        pid = product.get("product_id")
        name = product.get("name")
        if not isinstance(pid, str) or not pid or not isinstance(name, str):
            errs.add(loc, "a product needs product_id and name")
            return
        if len(leaves) >= MAX_LEAVES:
            errs.add(loc, f"more than {MAX_LEAVES} products", "too_many")
            return
        cpe, purl, numbers = _helper(product)
        vendor = next((n for c, n in path if c == "vendor"), None)
        products = [n for c, n in path if c == "product_name"]
        families = tuple(n for c, n in path if c == "product_family")
        version = next(
            (n for c, n in reversed(path) if c in ("product_version", "product_version_range")),
            None,
        )
        rng = parse_range(version) if version is not None else None
        leaves[pid] = Leaf(
            product_id=pid,
            name=name,
            vendor=vendor,
            product=products[-1] if products else None,
            families=families,
            version=version,
            range=rng,
            cpe=cpe,
            purl=purl,
            model_numbers=numbers,
        )

    def walk(branches: Any, loc: tuple[str | int, ...], path: list[tuple[str, str]]) -> None:
        if len(loc) > MAX_DEPTH * 2:
            errs.add(loc, "branches nested too deep", "too_deep")
            return
        for i, b in enumerate(_list(branches, loc, errs)):
            here = (*loc, i)
            b = _obj(b, here, errs)
            cat, name = b.get("category"), b.get("name")
            if not isinstance(cat, str) or not isinstance(name, str):
                errs.add(here, "a branch needs category and name")
                continue
            step = [*path, (cat, name)]
            if "branches" in b:
                walk(b["branches"], (*here, "branches"), step)
            elif "product" in b:
                add(b["product"], (*here, "product"), step)
            else:
                errs.add(here, "a branch needs branches or a product")

    walk(tree.get("branches"), ("product_tree", "branches"), [])
    for i, p in enumerate(
        _list(tree.get("full_product_names"), ("product_tree", "full_product_names"), errs)
    ):
        add(p, ("product_tree", "full_product_names", i), [])
    for i, rel in enumerate(
        _list(tree.get("relationships"), ("product_tree", "relationships"), errs)
    ):
        _relationship(rel, ("product_tree", "relationships", i), leaves, errs)
    return leaves


def _relationship(
    rel: Any, loc: tuple[str | int, ...], leaves: dict[str, Leaf], errs: _Errors
) -> None:
    """A product made of two (``X default_component_of Y``): matched as its component X."""
    rel = _obj(rel, loc, errs)
    full = _obj(rel.get("full_product_name"), (*loc, "full_product_name"), errs)
    ref = rel.get("product_reference")
    pid = full.get("product_id")
    if not isinstance(pid, str) or not isinstance(ref, str):
        errs.add(loc, "a relationship needs product_reference and full_product_name.product_id")
        return
    base = leaves.get(ref)
    if base is None:
        errs.add(
            (*loc, "product_reference"), f"product id {ref!r} is not defined", "dangling_product_id"
        )
        return
    leaves[pid] = Leaf(
        product_id=pid,
        name=str(full.get("name", base.name)),
        vendor=base.vendor,
        product=base.product,
        families=base.families,
        version=base.version,
        range=base.range,
        cpe=base.cpe,
        purl=base.purl,
        model_numbers=base.model_numbers,
    )


def _score(raw: Mapping[str, Any]) -> Score | None:
    for key, version in (("cvss_v3", "3"), ("cvss_v4", "4"), ("cvss_v2", "2")):
        c = raw.get(key)
        if isinstance(c, dict) and isinstance(c.get("baseScore"), (int, float)):
            score = float(c["baseScore"])
            if not 0.0 <= score <= 10.0:
                return None
            sev = c.get("baseSeverity")
            return Score(
                score=score,
                severity=sev.lower() if isinstance(sev, str) else None,
                vector=c.get("vectorString") if isinstance(c.get("vectorString"), str) else None,
                version=str(c.get("version", version)),
            )
    return None


def _ids(
    value: Any, loc: tuple[str | int, ...], leaves: Mapping[str, Leaf], errs: _Errors
) -> list[str]:
    out: list[str] = []
    for j, pid in enumerate(_list(value, loc, errs)):
        if not isinstance(pid, str):
            errs.add((*loc, j), "a product id must be a string")
        elif pid not in leaves:
            errs.add(
                (*loc, j),
                f"product id {pid!r} is not defined in the product tree",
                "dangling_product_id",
            )
        else:
            out.append(pid)
    return out


def _vulnerabilities(
    items: list[Any], leaves: Mapping[str, Leaf], errs: _Errors
) -> Iterator[Vulnerability]:
    for i, v in enumerate(items):
        loc: tuple[str | int, ...] = ("vulnerabilities", i)
        v = _obj(v, loc, errs)
        status: dict[str, str] = {}
        ps = _obj(v.get("product_status", {}), (*loc, "product_status"), errs)
        for cat in STATUSES:
            for pid in _ids(ps.get(cat), (*loc, "product_status", cat), leaves, errs):
                status.setdefault(pid, cat)
        scores: dict[str, Score] = {}
        for j, raw in enumerate(_list(v.get("scores"), (*loc, "scores"), errs)):
            raw = _obj(raw, (*loc, "scores", j), errs)
            score = _score(raw)
            for pid in _ids(raw.get("products"), (*loc, "scores", j, "products"), leaves, errs):
                if score is not None and (pid not in scores or scores[pid].score < score.score):
                    scores[pid] = score
        rems: list[Remediation] = []
        for j, raw in enumerate(_list(v.get("remediations"), (*loc, "remediations"), errs)):
            raw = _obj(raw, (*loc, "remediations", j), errs)
            ids = _ids(
                raw.get("product_ids"), (*loc, "remediations", j, "product_ids"), leaves, errs
            )
            rems.append(
                Remediation(
                    category=str(raw.get("category", "")),
                    details=str(raw.get("details", ""))[:20000],
                    url=raw.get("url") if isinstance(raw.get("url"), str) else None,
                    product_ids=frozenset(ids),
                )
            )
        cve = v.get("cve")
        title = v.get("title")
        yield Vulnerability(
            cve=cve if isinstance(cve, str) else None,
            title=title if isinstance(title, str) else None,
            status=status,
            scores=scores,
            remediations=tuple(rems),
        )
