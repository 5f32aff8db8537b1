"""Identifiers as EPCs. An event names objects by Helan Handle identifiers
(``88.118.100/lot-7``), GS1 EPC URNs (``urn:epc:id:sgtin:0614141.107346.2017``, class
``urn:epc:class:lgtin:...``, pattern ``urn:epc:idpat:sgtin:...``) or GS1 Digital Link URIs
(``https://id.gs1.org/01/09521234543213/10/LOT1/21/S1``, any host). The store indexes each
under one *key*, so that a query by any spelling of a GS1 key finds events written with
another: ``gs1:01/{gtin14}/21/{serial}`` for an instance, ``gs1:01/{gtin14}/10/{lot}`` for a
lot, ``gs1:01/{gtin14}`` for a product class; ``hdl:{handle}`` for a Handle identifier;
anything else as given."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

_HANDLE = re.compile(r"^(?:hdl:)?(?P<prefix>\d+(?:\.\d+)+)/(?P<suffix>[^\s]+)$")
_SGTIN = re.compile(r"^urn:epc:(?:id|idpat|class):(?P<scheme>sgtin|lgtin):(?P<rest>.+)$")
_DL_PATH = re.compile(r"(?:^|/)01/(?P<gtin>\d{8,14})(?P<tail>(?:/(?:10|21|22)/[^/]+)*)/?$")


def handle_prefix(value: str) -> str | None:
    """The Handle prefix of a Handle identifier (``88.118.100`` of ``88.118.100/x``), else
    None."""
    m = _HANDLE.match(value)
    return m.group("prefix") if m else None


def is_handle(value: str) -> bool:
    return _HANDLE.match(value) is not None


def _check_digit(digits13: str) -> str:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits13)))
    return str((10 - total % 10) % 10)


def _gtin_from_epc(company: str, item: str) -> str | None:
    """GTIN-14 of an SGTIN's company prefix and indicator+item reference."""
    if not (company.isdigit() and item.isdigit()) or len(company) + len(item) != 13:
        return None
    body = item[0] + company + item[1:]
    return body + _check_digit(body)


def _from_urn(value: str) -> str | None:
    m = _SGTIN.match(value)
    if m is None:
        return None
    parts = m.group("rest").split(".", 2)
    if len(parts) != 3:
        return None
    gtin = _gtin_from_epc(parts[0], parts[1])
    if gtin is None:
        return None
    tail = unquote(parts[2])
    if tail == "*":
        return f"gs1:01/{gtin}"
    return f"gs1:01/{gtin}/{'21' if m.group('scheme') == 'sgtin' else '10'}/{tail}"


def _from_digital_link(value: str) -> str | None:
    if not value.startswith(("https://", "http://")):
        return None
    m = _DL_PATH.search(urlsplit(value).path)
    if m is None:
        return None
    gtin = m.group("gtin").rjust(14, "0")
    keys = dict(zip(*[iter(m.group("tail").strip("/").split("/"))] * 2, strict=False))
    if "21" in keys:
        return f"gs1:01/{gtin}/21/{unquote(keys['21'])}"
    if "10" in keys:
        return f"gs1:01/{gtin}/10/{unquote(keys['10'])}"
    return f"gs1:01/{gtin}"


def key(value: str) -> str:
    """The index key of an identifier (see the module docstring)."""
    if _HANDLE.match(value):
        return "hdl:" + value.removeprefix("hdl:")
    return _from_urn(value) or _from_digital_link(value) or value


def digital_link(value: str, host: str = "https://id.gs1.org") -> str | None:
    """The GS1 Digital Link URI of a GS1 key, None for other identifiers."""
    k = key(value)
    return f"{host}/{k.removeprefix('gs1:')}" if k.startswith("gs1:") else None
