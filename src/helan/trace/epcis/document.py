"""Reading an EPCIS 2.0 capture document into events, or refusing it whole.

Checks, in order, each with the JSON path of what failed (``loc``): the envelope against the
GS1 schema; the ``@context`` (the standard context URL and inline prefix maps only: a remote
context is never fetched, so one we do not know is refused instead of half-understood); each
event against its own type's schema; CBV vocabularies; identifiers minted under another
tenant's Handle prefix. One error anywhere rejects the document (all or nothing)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from helan.core.errors import ValidationFailed
from helan.trace import identifiers
from helan.trace.epcis import cbv
from helan.trace.epcis.model import EpcRef, Event, Role
from helan.trace.epcis.schema import document_validator, event_validator, fast_valid

STANDARD_CONTEXTS = frozenset(
    {
        "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
        "https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
        "https://gs1.github.io/EPCIS/epcis-context.jsonld",
    }
)
MAX_EVENTS = 100_000
MAX_ERRORS = 200
Loc = list[str | int]
# Lists of identifiers and their role; quantity lists give a class and a quantity.
_EPC_LISTS: tuple[tuple[str, Role], ...] = (
    ("epcList", "epc"),
    ("childEPCs", "child"),
    ("inputEPCList", "input"),
    ("outputEPCList", "output"),
)
_QTY_LISTS: tuple[tuple[str, Role], ...] = (
    ("quantityList", "epc"),
    ("childQuantityList", "child"),
    ("inputQuantityList", "input"),
    ("outputQuantityList", "output"),
)


def _err(loc: Loc, message: str, kind: str) -> dict[str, Any]:
    return {"loc": ["body", *loc], "message": message, "type": kind}


def _schema_errors(validator: Any, value: Any, at: Loc) -> list[dict[str, Any]]:
    out = []
    for e in sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path))):
        message = e.message
        if e.validator == "format" and e.validator_value == "date-time":
            message = f"{e.instance!r} is not an RFC 3339 date-time with a time zone offset"
        out.append(_err([*at, *e.absolute_path], message, f"schema.{e.validator}"))
    return out


def _context_errors(context: Any) -> list[dict[str, Any]]:
    items = context if isinstance(context, list) else [context]
    errors = []
    for i, item in enumerate(items):
        if isinstance(item, str) and item not in STANDARD_CONTEXTS:
            loc: Loc = ["@context", i] if isinstance(context, list) else ["@context"]
            errors.append(
                _err(
                    loc,
                    f"@context {item!r} is not the EPCIS 2.0 standard context; remote contexts "
                    "are never fetched: use the standard context URL and inline prefix maps",
                    "remote_context",
                )
            )
    return errors


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("z", "Z")).astimezone(UTC)


def _refs(event: Mapping[str, Any]) -> Iterator[EpcRef]:
    for field, role in _EPC_LISTS:
        for epc in event.get(field) or ():
            yield EpcRef(role, epc, identifiers.key(epc))
    for field, role in _QTY_LISTS:
        for q in event.get(field) or ():
            cls = q["epcClass"]
            quantity = q.get("quantity")
            yield EpcRef(
                role,
                cls,
                identifiers.key(cls),
                None if quantity is None else float(quantity),
                q.get("uom"),
                is_class=True,
            )
    parent = event.get("parentID")
    if parent:
        yield EpcRef("parent", parent, identifiers.key(parent))


def _vocab(event: Mapping[str, Any], at: Loc) -> list[dict[str, Any]]:
    errors = []

    def check(vocab: cbv.Vocabulary, value: Any, loc: Loc) -> None:
        if isinstance(value, str):
            try:
                vocab.term(value)
            except ValueError as exc:
                errors.append(_err([*at, *loc], str(exc), "unknown_cbv"))

    check(cbv.BIZ_STEP, event.get("bizStep"), ["bizStep"])
    check(cbv.DISPOSITION, event.get("disposition"), ["disposition"])
    pd = event.get("persistentDisposition") or {}
    for op in ("set", "unset"):
        for j, v in enumerate(pd.get(op) or ()):
            check(cbv.DISPOSITION, v, ["persistentDisposition", op, j])
    for field in ("sourceList", "destinationList"):
        for j, v in enumerate(event.get(field) or ()):
            check(cbv.SOURCE_DEST, v.get("type"), [field, j, "type"])
    for j, v in enumerate(event.get("bizTransactionList") or ()):
        if "type" in v:
            check(cbv.BIZ_TRANSACTION, v["type"], ["bizTransactionList", j, "type"])
    declaration = event.get("errorDeclaration")
    if isinstance(declaration, dict) and "reason" in declaration:
        check(cbv.ERROR_REASON, declaration["reason"], ["errorDeclaration", "reason"])
    return errors


def _minted(event: Mapping[str, Any]) -> Iterator[tuple[Loc, str]]:
    """Identifiers the event brings into being: a commissioning ObjectEvent's objects (action
    ADD), a transformation's outputs, an aggregation's or association's parent on ADD."""
    kind = event.get("type")
    fields: tuple[str, ...]
    if kind == "ObjectEvent" and event.get("action") == "ADD":
        fields = ("epcList", "quantityList")
    elif kind == "TransformationEvent":
        fields = ("outputEPCList", "outputQuantityList")
    else:
        fields = ()
    for field in fields:
        for j, item in enumerate(event.get(field) or ()):
            value = item["epcClass"] if isinstance(item, dict) else item
            yield [field, j], value
    parent = event.get("parentID")
    adds = kind in ("AggregationEvent", "AssociationEvent") and event.get("action") == "ADD"
    if adds and isinstance(parent, str):
        yield ["parentID"], parent


def _event_id(event: Mapping[str, Any]) -> str:
    """The event's ``eventID``, or one derived from its content (SHA-256 of its canonical
    JSON; not CBV's event hash algorithm), so that capturing it again is a no-op too."""
    given = event.get("eventID")
    if isinstance(given, str):
        return given
    digest = hashlib.sha256(orjson.dumps(event, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"ni:///sha-256;{digest}?ver=helan1"


def parse_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValidationFailed(f"the capture document is not JSON: {exc}") from exc


def read_document(
    doc: Any,
    *,
    tenant_prefix: str | None,
    prefix_owner: Callable[[str], str | None],
    tenant: str,
) -> list[Event]:
    """Events of a parsed JSON-LD document; ValidationFailed (with one detail per problem)
    when anything in it is wrong. ``prefix_owner`` names the tenant holding a Handle prefix."""
    if not fast_valid("EPCISDocument", doc):
        errors = _schema_errors(document_validator(), doc, [])
        raise ValidationFailed("the EPCIS document does not match the schema", details=errors)
    errors = _context_errors(doc["@context"])
    raw_events = doc["epcisBody"]["eventList"]
    if len(raw_events) > MAX_EVENTS:
        raise ValidationFailed(f"at most {MAX_EVENTS} events per document, not {len(raw_events)}")
    context = orjson.dumps(doc["@context"])
    events: list[Event] = []
    seen: dict[str, int] = {}
    owners: dict[str, str | None] = {}
    for i, event in enumerate(raw_events):
        at: Loc = ["epcisBody", "eventList", i]
        kind = event.get("type")
        if not fast_valid(str(kind), event):
            validator = event_validator(str(kind))
            if validator is None:
                errors.append(
                    _err([*at, "type"], f"unknown event type {kind!r}", "unknown_event_type")
                )
            else:
                errors.extend(_schema_errors(validator, event, at))
            continue
        errors.extend(_vocab(event, at))
        for loc, value in _minted(event):
            prefix = identifiers.handle_prefix(value)
            if prefix is None or prefix == tenant_prefix:
                continue
            if prefix not in owners:
                owners[prefix] = prefix_owner(prefix)
            owner = owners[prefix]
            if owner is not None and owner != tenant:
                errors.append(
                    _err(
                        [*at, *loc],
                        f"{value!r} is under prefix {prefix}, which belongs to another "
                        "tenant: an event may only create identifiers under its own prefix",
                        "foreign_prefix",
                    )
                )
        event_id = _event_id(event)
        if event_id in seen:
            errors.append(
                _err(
                    [*at, "eventID"],
                    f"eventID {event_id!r} appears twice in the document (first at event "
                    f"{seen[event_id]})",
                    "duplicate_event_id",
                )
            )
            continue
        seen[event_id] = i
        if len(errors) >= MAX_ERRORS:
            break
        if errors:
            continue
        events.append(_event(event, event_id, context))
    if errors:
        raise ValidationFailed(
            f"the EPCIS document has {len(errors)} problem(s); nothing was captured",
            details=errors[:MAX_ERRORS],
        )
    return events


def _event(event: Mapping[str, Any], event_id: str, context: bytes) -> Event:
    bs, disp = event.get("bizStep"), event.get("disposition")
    return Event(
        event_id=event_id,
        event_type=event["type"],
        event_time=_time(event["eventTime"]),
        action=event.get("action"),
        biz_step=cbv.BIZ_STEP.canonical(bs) if bs else None,
        disposition=cbv.DISPOSITION.canonical(disp) if disp else None,
        read_point=(event.get("readPoint") or {}).get("id"),
        biz_location=(event.get("bizLocation") or {}).get("id"),
        refs=tuple(_refs(event)),
        body=orjson.dumps(event),
        context=context,
        declared_error="errorDeclaration" in event,
    )
