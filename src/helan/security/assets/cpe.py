"""CPE 2.3 formatted strings and Package URLs for an asset, where they can be derived.

Both need a known vendor and a product; the version is ``*`` (CPE) or left out (PURL) when
unknown. CPE parts: ``h`` for a device, ``o`` for its firmware (what advisories name) and
``a`` for software such as an OPC UA server's product. The PURL type is ``generic`` with the
vendor as namespace: industrial firmware has no package registry of its own.
"""

from __future__ import annotations

import re
from urllib.parse import quote

_CPE_SAFE = re.compile(r"[A-Za-z0-9_\-.]")


def cpe_component(value: str | None) -> str:
    """One CPE 2.3 component: lower case, spaces as ``_``, other specials escaped."""
    if value is None or not value.strip():
        return "*"
    s = "_".join(value.strip().lower().split())
    return "".join(c if _CPE_SAFE.fullmatch(c) else "\\" + c for c in s)


def cpe23(part: str, vendor: str, product: str, version: str | None) -> str:
    if part not in ("a", "h", "o"):
        raise ValueError(f"CPE part must be a, h or o, not {part!r}")
    fields = [cpe_component(vendor), cpe_component(product), cpe_component(version)]
    return "cpe:2.3:" + part + ":" + ":".join(fields) + ":*:*:*:*:*:*:*:*"


def purl(vendor: str, product: str, version: str | None) -> str:
    name = quote("_".join(product.strip().lower().split()), safe="")
    out = f"pkg:generic/{quote(vendor, safe='')}/{name}"
    return out + (f"@{quote(version.strip(), safe='')}" if version and version.strip() else "")


def cpe_vendor_product(cpe: str) -> tuple[str, str] | None:
    """Vendor and product of a CPE 2.3 string (or a 2.2 URI); None when it is neither."""
    if cpe.startswith("cpe:2.3:"):
        fields = re.split(r"(?<!\\):", cpe)
        if len(fields) >= 5:
            return fields[3].replace("\\", ""), fields[4].replace("\\", "")
        return None
    if cpe.startswith("cpe:/"):
        fields = cpe[5:].split(":")
        if len(fields) >= 3:
            return fields[1], fields[2]
    return None


def cpe_version(cpe: str) -> str | None:
    fields = re.split(r"(?<!\\):", cpe) if cpe.startswith("cpe:2.3:") else []
    if len(fields) >= 6 and fields[5] not in ("*", "-", ""):
        return fields[5].replace("\\", "")
    return None
