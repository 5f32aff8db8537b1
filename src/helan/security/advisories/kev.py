"""CISA's Known Exploited Vulnerabilities catalog (its JSON feed format), imported like the
advisories: a match whose CVE is in it ranks above one of the same CVSS that is not."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from helan.core.errors import PayloadTooLarge, ValidationFailed

MAX_BYTES = 50 * 1024 * 1024
_CVE = re.compile(r"^CVE-\d{4}-\d{4,}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class KevEntry:
    cve: str
    vendor: str
    product: str
    name: str
    date_added: str
    due_date: str | None
    ransomware: bool


@dataclass(frozen=True, slots=True)
class KevCatalog:
    version: str
    entries: tuple[KevEntry, ...]


def load_kev(data: bytes, *, max_bytes: int = MAX_BYTES) -> KevCatalog:
    """Entries of a catalog; ValidationFailed when it is not one (an entry without a valid
    ``cveID`` included)."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"KEV catalog of {len(data)} bytes exceeds {max_bytes}")
    try:
        doc: Any = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ValidationFailed(f"not JSON: {exc}", code="kev_invalid") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("vulnerabilities"), list):
        raise ValidationFailed("a KEV catalog has a 'vulnerabilities' array", code="kev_invalid")
    out: list[KevEntry] = []
    for i, v in enumerate(doc["vulnerabilities"]):
        cve = v.get("cveID") if isinstance(v, dict) else None
        if not isinstance(cve, str) or not _CVE.match(cve):
            raise ValidationFailed(
                f"vulnerabilities.{i}.cveID: not a CVE id",
                code="kev_invalid",
                details=[
                    {
                        "loc": ["vulnerabilities", i, "cveID"],
                        "message": "not a CVE id",
                        "type": "kev_invalid",
                    }
                ],
            )
        out.append(
            KevEntry(
                cve=cve,
                vendor=str(v.get("vendorProject", ""))[:200],
                product=str(v.get("product", ""))[:200],
                name=str(v.get("vulnerabilityName", ""))[:500],
                date_added=str(v.get("dateAdded", ""))[:10],
                due_date=str(v["dueDate"])[:10] if isinstance(v.get("dueDate"), str) else None,
                ransomware=str(v.get("knownRansomwareCampaignUse", "")).casefold() == "known",
            )
        )
    return KevCatalog(str(doc.get("catalogVersion", "")), tuple(out))
