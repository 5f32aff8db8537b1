"""What an enterprise lets another see of its events.

An agreement names the event types it shares and the fields beyond the core: the core
(type, times, eventID, action, the identifier and quantity lists, parentID, bizStep) is
what genealogy needs to follow an object, so a shared event always carries it; every other
field (disposition, locations, transactions, sources and destinations, sensor data, ILMD,
extensions ...) is shared only when the agreement lists it. What is held back is said: each
answer lists per event the fields withheld, and counts the events of types not shared."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from helan.core.errors import ValidationFailed
from helan.trace.epcis.schema import EVENT_TYPES

CORE = frozenset(
    {
        "type",
        "eventTime",
        "eventTimeZoneOffset",
        "recordTime",
        "eventID",
        "action",
        "bizStep",
        "epcList",
        "quantityList",
        "parentID",
        "childEPCs",
        "childQuantityList",
        "inputEPCList",
        "inputQuantityList",
        "outputEPCList",
        "outputQuantityList",
        "transformationID",
    }
)
SHAREABLE = frozenset(
    {
        "disposition",
        "persistentDisposition",
        "readPoint",
        "bizLocation",
        "bizTransactionList",
        "sourceList",
        "destinationList",
        "sensorElementList",
        "ilmd",
        "certificationInfo",
        "errorDeclaration",
        "extensions",  # every field with a prefix (user extensions)
    }
)


@dataclass(frozen=True, slots=True)
class Terms:
    event_types: frozenset[str]
    fields: frozenset[str]

    @classmethod
    def of(cls, event_types: Iterable[str], fields: Iterable[str]) -> Terms:
        types = frozenset(event_types)
        bad = sorted(types - set(EVENT_TYPES))
        if bad or not types:
            raise ValidationFailed(
                f"event_types must be some of {', '.join(EVENT_TYPES)}"
                + (f"; unknown {bad[0]!r}" if bad else "")
            )
        chosen = frozenset(fields)
        unknown = sorted(chosen - SHAREABLE)
        if unknown:
            raise ValidationFailed(
                f"fields: {unknown[0]!r} cannot be shared on its own; choose from "
                f"{', '.join(sorted(SHAREABLE))} (the core is always shared)"
            )
        return cls(types, chosen)

    def union(self, other: Terms) -> Terms:
        return Terms(self.event_types | other.event_types, self.fields | other.fields)


def _allowed(name: str, fields: frozenset[str]) -> bool:
    if name in CORE or name in fields:
        return True
    return ":" in name and "extensions" in fields


def cut(event: Mapping[str, Any], terms: Terms) -> tuple[dict[str, Any], list[str]]:
    """The shared part of ``event`` and the names of the fields withheld."""
    kept = {k: v for k, v in event.items() if _allowed(k, terms.fields)}
    return kept, sorted(k for k in event if k not in kept)


@dataclass(slots=True)
class Withheld:
    """What one answer held back."""

    fields: dict[str, list[str]]  # eventID -> withheld field names
    types: dict[str, int]  # event type -> events not shared

    @classmethod
    def empty(cls) -> Withheld:
        return cls({}, {})

    def out(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = [
            {"eventID": e, "fields": f} for e, f in self.fields.items() if f
        ]
        items.extend(
            {"eventType": t, "events": n, "reason": "event type not shared"}
            for t, n in sorted(self.types.items())
        )
        return items


def share(
    events: Sequence[tuple[str, str, Mapping[str, Any]]], terms: Terms, withheld: Withheld
) -> list[tuple[str, dict[str, Any]]]:
    """``(event id, type, event)`` cut to ``terms``; events of other types are counted."""
    out = []
    for event_id, kind, body in events:
        if kind not in terms.event_types:
            withheld.types[kind] = withheld.types.get(kind, 0) + 1
            continue
        kept, hidden = cut(body, terms)
        if hidden:
            withheld.fields[event_id] = hidden
        out.append((event_id, kept))
    return out
