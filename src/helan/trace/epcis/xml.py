"""EPCIS 2.0 XML capture documents, read into the JSON-LD shape so that one validation and
one store serve both. Parsed with defusedxml and ``forbid_dtd``: a document with a DTD (the
carrier of external entities, XXE, and of entity expansion bombs) is refused outright.

Mapped: the five event types (also wrapped in 1.x ``<extension>`` elements), ``eventID``
and ``errorDeclaration`` (directly or in ``baseExtension``), identifier and quantity lists,
business transactions, sources and destinations (their ``type`` attribute), readPoint and
bizLocation ids, sensor elements (metadata and report attributes), ILMD, and extension
elements in other namespaces (as ``prefix:name`` fields, their namespaces in the
``@context``)."""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from helan.core.errors import ValidationFailed

STANDARD_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
_LISTS = {
    "epcList": "epc",
    "childEPCs": "epc",
    "inputEPCList": "epc",
    "outputEPCList": "epc",
    "correctiveEventIDs": "correctiveEventID",
}
_QUANTITY_LISTS = {"quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"}
_NUMBERS = {
    "quantity",
    "value",
    "minValue",
    "maxValue",
    "meanValue",
    "sDev",
    "percRank",
    "percValue",
}
_EPCIS_NS = ("urn:epcglobal:epcis:", "https://ref.gs1.org/standards/epcis")


def _split(tag: str) -> tuple[str | None, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return None, tag


def _is_epcis(ns: str | None) -> bool:
    return ns is None or ns == "" or ns.startswith(_EPCIS_NS)


class _Reader:
    def __init__(self) -> None:
        self.namespaces: dict[str, str] = {}

    def _name(self, ns: str | None, local: str) -> str:
        if _is_epcis(ns):
            return local
        assert ns is not None
        prefix = next((p for p, u in self.namespaces.items() if u == ns), None)
        if prefix is None:
            prefix = f"ns{len(self.namespaces) + 1}"
            self.namespaces[prefix] = ns
        return f"{prefix}:{local}"

    def _generic(self, el: Element) -> Any:
        children = list(el)
        if not children:
            return (el.text or "").strip()
        out: dict[str, Any] = {}
        for c in children:
            ns, local = _split(c.tag)
            out[self._name(ns, local)] = self._generic(c)
        return out

    def event(self, el: Element, kind: str) -> dict[str, Any]:
        out: dict[str, Any] = {"type": kind}
        for child in el:
            ns, local = _split(child.tag)
            if not _is_epcis(ns):
                out[self._name(ns, local)] = self._generic(child)
            elif local in ("baseExtension", "extension"):
                out.update({k: v for k, v in self.event(child, kind).items() if k != "type"})
            elif local in _LISTS:
                out[local] = [(c.text or "").strip() for c in child]
            elif local in _QUANTITY_LISTS:
                out[local] = [self._quantity(q) for q in child]
            elif local in ("readPoint", "bizLocation"):
                out[local] = {"id": (child.findtext("id") or "").strip()}
            elif local == "bizTransactionList":
                out[local] = [
                    {**_attr(b, "type"), "bizTransaction": (b.text or "").strip()} for b in child
                ]
            elif local in ("sourceList", "destinationList"):
                item = local.removesuffix("List")
                out[local] = [{**_attr(s, "type"), item: (s.text or "").strip()} for s in child]
            elif local == "sensorElementList":
                out[local] = [self._sensor(s) for s in child]
            elif local == "errorDeclaration":
                out[local] = self.event(child, kind)
                out[local].pop("type")
            elif local == "persistentDisposition":
                pd: dict[str, list[str]] = {}
                for c in child:
                    pd.setdefault(_split(c.tag)[1], []).append((c.text or "").strip())
                out[local] = pd
            elif local == "ilmd":
                out[local] = self._generic(child) or {}
            else:
                out[local] = (child.text or "").strip()
        return out

    def _quantity(self, el: Element) -> dict[str, Any]:
        q: dict[str, Any] = {}
        for c in el:
            local = _split(c.tag)[1]
            text = (c.text or "").strip()
            q[local] = _number(text) if local in _NUMBERS else text
        return q

    def _sensor(self, el: Element) -> dict[str, Any]:
        out: dict[str, Any] = {}
        reports = []
        for c in el:
            local = _split(c.tag)[1]
            attrs = {k: (_number(v) if k in _NUMBERS else v) for k, v in c.attrib.items()}
            if local == "sensorMetadata":
                out["sensorMetadata"] = attrs
            elif local == "sensorReport":
                reports.append(attrs)
        out["sensorReport"] = reports
        return out


def _attr(el: Element, name: str) -> dict[str, str]:
    return {name: el.attrib[name]} if name in el.attrib else {}


def _number(text: str) -> float | int | str:
    try:
        f = float(text)
    except ValueError:
        return text  # the schema reports it
    return int(f) if f.is_integer() and "." not in text and "e" not in text.lower() else f


def read_xml(body: bytes) -> dict[str, Any]:
    """The JSON-LD shaped document of an EPCIS XML capture document."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ValidationFailed(
            "XML with a DTD or entities is refused (no external entities, no XXE)",
            code="xml_forbidden",
        ) from exc
    except ParseError as exc:
        raise ValidationFailed(f"the capture document is not well-formed XML: {exc}") from exc
    if _split(root.tag)[1] != "EPCISDocument":
        raise ValidationFailed("the XML root element must be EPCISDocument")
    reader = _Reader()
    events: list[dict[str, Any]] = []
    body_el = next((c for c in root if _split(c.tag)[1] == "EPCISBody"), None)
    event_list = None if body_el is None else body_el.find("EventList")
    for el in [] if event_list is None else list(event_list):
        local = _split(el.tag)[1]
        if local == "extension":  # EPCIS 1.x wraps the newer event types
            events.extend(reader.event(c, _split(c.tag)[1]) for c in el)
        else:
            events.append(reader.event(el, local))  # an unknown type: the schema check says so
    context: list[Any] = [STANDARD_CONTEXT]
    if reader.namespaces:
        context.append(dict(reader.namespaces))
    return {
        "@context": context,
        "type": "EPCISDocument",
        "schemaVersion": root.attrib.get("schemaVersion", "2.0"),
        "creationDate": root.attrib.get("creationDate", ""),
        "epcisBody": {"eventList": events},
    }
