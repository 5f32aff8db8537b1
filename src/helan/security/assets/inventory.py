"""An asset of the inventory: what a device is (vendor, model, firmware), from the directory and
from what its gateway read off it.

Recomputed on read from the device rows, not kept in a table of its own: the directory is
the one truth, so an edited firmware or a new identification report is in the next listing
and the next match, with no listener to fall behind or miss a change made by another
process. Reading is cheap (three columns and one attribute per device).

Sources, later ones winning for the fields they have: the directory's ``vendor``, ``model``,
``firmware`` columns; the attributes ``vendor``/``model``/``firmware``; and what the gateway
reported under the attribute ``identification`` (Modbus Read Device Identification,
FC 43/14: ``vendor_name``, ``product_code``, ``revision``, ``product_name``, ``model_name``;
OPC UA ``BuildInfo``: ``manufacturer``, ``product``, ``software_version``), as the firmware a
PLC runs is what it says, not what was typed in when it was installed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from helan.security.assets.cpe import cpe23, purl
from helan.security.assets.vendors import normalise_vendor

_REPORTED = {
    "vendor": ("vendor_name", "manufacturer"),
    "model": ("model_name", "product_name", "product", "product_code"),
    "firmware": ("revision", "software_version"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class InventoryAsset:
    tenant: str
    device: str
    name: str
    vendor: str | None  # as written
    vendor_key: str | None  # normalised (see vendors.py); None when unknown or garbled
    vendor_known: bool
    vendor_garbled: bool
    model: str | None
    firmware: str | None
    order_number: str | None  # vendor's part / order number (FC 43 ProductCode)
    source: str  # directory | modbus | opcua
    cpe: str | None
    purl: str | None


def _text(value: Any) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:200]


def build_asset(
    *,
    tenant: str,
    device: str,
    name: str,
    vendor: str | None,
    model: str | None,
    firmware: str | None,
    attributes: Mapping[str, Any] | None,
) -> InventoryAsset:
    attrs = attributes or {}
    fields = {"vendor": _text(vendor), "model": _text(model), "firmware": _text(firmware)}
    for key in fields:
        fields[key] = _text(attrs.get(key)) or fields[key]
    source = "directory"
    order_number = _text(attrs.get("order_number"))
    reported = attrs.get("identification")
    if isinstance(reported, Mapping):
        for key, names in _REPORTED.items():
            for n in names:
                got = _text(reported.get(n))
                if got is not None:
                    fields[key] = got
                    break
        order_number = _text(reported.get("product_code")) or order_number
        src = reported.get("source")
        source = src if src in ("modbus", "opcua") else "gateway"
    vn = normalise_vendor(fields["vendor"])
    model_, fw = fields["model"], fields["firmware"]
    derivable = vn.known and vn.key is not None and model_ is not None
    return InventoryAsset(
        tenant=tenant,
        device=device,
        name=name,
        vendor=fields["vendor"],
        vendor_key=vn.key if not vn.garbled else None,
        vendor_known=vn.known,
        vendor_garbled=vn.garbled,
        model=model_,
        firmware=fw,
        order_number=order_number,
        source=source,
        cpe=cpe23("o", vn.key or "", f"{model_}_firmware", fw) if derivable else None,
        purl=purl(vn.key or "", model_ or "", fw) if derivable else None,
    )
