"""The bundled GS1 JSON schema, compiled once: one validator for the document's envelope and
one per event type, so that each event is checked against its own type's definition (the
errors then say what is wrong with *that* event, not that it matches none of five types).

Formats are checked with Helan's own checkers: ``uri`` accepts absolute URIs and Handle
identifiers (``88.118.100/lot-7``, an EPC in Helan's events); ``date-time`` demands RFC 3339
with a time zone offset, so an ``eventTime`` without one is refused with that reason."""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

import orjson
from jsonschema import Draft7Validator, FormatChecker
from jsonschema.protocols import Validator

from helan.trace.identifiers import is_handle

EVENT_TYPES = (
    "ObjectEvent",
    "AggregationEvent",
    "AssociationEvent",
    "TransactionEvent",
    "TransformationEvent",
)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$")
_OFFSET = re.compile(r"(Z|z|[+-]\d{2}:\d{2})$")

checker = FormatChecker(formats=())


def _uri(value: object) -> bool:
    return not isinstance(value, str) or bool(_SCHEME.match(value)) or is_handle(value)


def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if ("T" not in value and "t" not in value) or not _OFFSET.search(value):
        return False
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return False
    return parsed.tzinfo is not None


checker.checks("uri")(_uri)
checker.checks("date-time")(_date_time)


def schema() -> dict[str, Any]:
    text = resources.files("helan.trace.epcis").joinpath("gs1/epcis-json-schema.json")
    loaded: dict[str, Any] = orjson.loads(text.read_bytes())
    return loaded


@cache
def _validators() -> dict[str, Validator]:
    root = schema()
    out: dict[str, Validator] = {}
    for name in ("EPCISDocument", *EVENT_TYPES):
        sub = {**root, "$ref": f"#/definitions/{name}"}
        out[name] = Draft7Validator(sub, format_checker=checker)
    return out


def document_validator() -> Validator:
    return _validators()["EPCISDocument"]


def event_validator(event_type: str) -> Validator | None:
    return _validators().get(event_type) if event_type in EVENT_TYPES else None


@cache
def _fast() -> dict[str, Any]:
    from helan.trace.epcis.fastcheck import compile_schema

    root = schema()
    return {
        name: compile_schema(
            {"$ref": f"#/definitions/{name}"}, root, {"uri": _uri, "date-time": _date_time}
        )
        for name in ("EPCISDocument", *EVENT_TYPES)
    }


def fast_valid(name: str, value: Any) -> bool:
    """The compiled schema's verdict for ``value`` as ``name`` (see ``fastcheck``)."""
    check = _fast().get(name)
    return check is not None and bool(check(value))
