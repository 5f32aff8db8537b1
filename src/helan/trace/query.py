"""EPCIS 2.0 standard query parameters (the SimpleEventQuery subset Helan serves) turned into
one SQL filter on the event store.

``eventType``; ``GE_/LT_eventTime``, ``GE_/LT_recordTime`` (RFC 3339 with an offset);
``EQ_action``, ``EQ_bizStep``, ``EQ_disposition`` (CBV terms in any of their spellings),
``EQ_readPoint``, ``EQ_bizLocation``, ``EQ_eventID``; ``MATCH_epc`` (epcList, childEPCs),
``MATCH_parentID``, ``MATCH_inputEPC``, ``MATCH_outputEPC``, ``MATCH_anyEPC`` (any of them),
``MATCH_epcClass`` (quantity lists and child quantity lists), ``MATCH_anyEPCClass`` (every
quantity list), each a comma-separated list, identifiers matched by their key (any spelling
of a GS1 key finds the others); ``perPage`` (1-1000, default 30) and ``nextPageToken``.
Results come in capture order (``seq``), which makes the page token a plain position and
never skips or repeats an event whatever is captured meanwhile."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from helan.core.errors import ValidationFailed
from helan.trace import identifiers
from helan.trace.epcis import cbv
from helan.trace.epcis.schema import EVENT_TYPES

MAX_PER_PAGE = 1000
DEFAULT_PER_PAGE = 30
MAX_VALUES = 100
_COLUMN = {
    "EQ_action": "action",
    "EQ_readPoint": "read_point",
    "EQ_bizLocation": "biz_location",
    "EQ_eventID": "event_id",
}
_TIMES = {
    "GE_eventTime": ("event_time", ">="),
    "LT_eventTime": ("event_time", "<"),
    "GE_recordTime": ("record_time", ">="),
    "LT_recordTime": ("record_time", "<"),
}
# MATCH_ parameter -> (roles, class flag: None any, True classes only, False instances only)
_MATCH: dict[str, tuple[tuple[str, ...], bool | None]] = {
    "MATCH_epc": (("epc", "child"), False),
    "MATCH_parentID": (("parent",), None),
    "MATCH_inputEPC": (("input",), False),
    "MATCH_outputEPC": (("output",), False),
    "MATCH_anyEPC": (("epc", "child", "parent", "input", "output"), False),
    "MATCH_epcClass": (("epc", "child"), True),
    "MATCH_anyEPCClass": (("epc", "child", "input", "output"), True),
}
PARAMETERS = frozenset(
    {"eventType", "EQ_bizStep", "EQ_disposition", "perPage", "nextPageToken"}
    | set(_COLUMN)
    | set(_TIMES)
    | set(_MATCH)
)


@dataclass(frozen=True, slots=True)
class EventQuery:
    """Parsed, checked parameters."""

    params: dict[str, tuple[str, ...]] = field(default_factory=dict)
    per_page: int = DEFAULT_PER_PAGE
    after_seq: int = 0

    def fingerprint(self) -> str:
        """Ties a page token to its query, so that a token is not replayed on another one."""
        data = orjson.dumps(self.params, option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(data).hexdigest()[:16]


def _values(name: str, raw: str) -> tuple[str, ...]:
    values = tuple(v.strip() for v in raw.split(",") if v.strip())
    if not values:
        raise ValidationFailed(f"{name} is empty", details=[_loc(name, "no value")])
    if len(values) > MAX_VALUES:
        raise ValidationFailed(f"{name}: at most {MAX_VALUES} values")
    return values


def _loc(name: str, message: str) -> dict[str, Any]:
    return {"loc": ["query", name], "message": message, "type": "value_error"}


def _time_ms(name: str, value: str) -> int:
    try:
        t = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError as exc:
        raise ValidationFailed(
            f"{name}: {value!r} is not an RFC 3339 time", details=[_loc(name, str(exc))]
        ) from exc
    if t.tzinfo is None:
        raise ValidationFailed(
            f"{name}: {value!r} needs a time zone offset", details=[_loc(name, "no offset")]
        )
    return int(t.astimezone(UTC).timestamp() * 1000)


def token(query: EventQuery, last_seq: int) -> str:
    raw = orjson.dumps({"s": last_seq, "q": query.fingerprint()})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse(raw: Mapping[str, str]) -> EventQuery:
    """Check the parameters (unknown names refused: a misspelt filter must not widen the
    answer silently)."""
    unknown = sorted(set(raw) - PARAMETERS)
    if unknown:
        raise ValidationFailed(
            f"unknown query parameter(s): {', '.join(unknown)}",
            details=[_loc(u, "not an EPCIS query parameter Helan serves") for u in unknown],
        )
    params: dict[str, tuple[str, ...]] = {}
    for name, value in raw.items():
        if name in ("perPage", "nextPageToken"):
            continue
        if name in _TIMES:
            _time_ms(name, value)
            params[name] = (value,)
            continue
        values = _values(name, value)
        if name == "eventType":
            bad = [v for v in values if v not in EVENT_TYPES]
            if bad:
                raise ValidationFailed(
                    f"eventType: unknown {bad[0]!r}", details=[_loc(name, "unknown event type")]
                )
        elif name in ("EQ_bizStep", "EQ_disposition"):
            vocab = cbv.BIZ_STEP if name == "EQ_bizStep" else cbv.DISPOSITION
            try:
                values = tuple(vocab.canonical(v) for v in values)
            except ValueError as exc:
                raise ValidationFailed(f"{name}: {exc}", details=[_loc(name, str(exc))]) from exc
        elif name in _MATCH:
            values = tuple(identifiers.key(v) for v in values)
        params[name] = values
    per_page = DEFAULT_PER_PAGE
    if "perPage" in raw:
        try:
            per_page = int(raw["perPage"])
        except ValueError:
            per_page = 0
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValidationFailed(
                f"perPage must be 1..{MAX_PER_PAGE}", details=[_loc("perPage", "out of range")]
            )
    query = EventQuery(params=params, per_page=per_page)
    if "nextPageToken" in raw:
        after = _read_token(raw["nextPageToken"], query)
        query = EventQuery(params=params, per_page=per_page, after_seq=after)
    return query


def _read_token(value: str, query: EventQuery) -> int:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        seq, fingerprint = int(data["s"]), str(data["q"])
    except (ValueError, TypeError, KeyError, orjson.JSONDecodeError) as exc:
        raise ValidationFailed(
            "nextPageToken is not one this service issued",
            details=[_loc("nextPageToken", "malformed")],
        ) from exc
    if fingerprint != query.fingerprint():
        raise ValidationFailed(
            "nextPageToken belongs to a query with other parameters",
            details=[_loc("nextPageToken", "other query")],
        )
    return seq


def where(tenant: str, query: EventQuery, *, after_seq: int | None = None) -> tuple[str, list[Any]]:
    """The SQL filter (placeholders only) and its parameters, capture order, one row past
    the page (to know whether another page follows)."""
    clauses = ["tenant = ?", "seq > ?"]
    args: list[Any] = [tenant, query.after_seq if after_seq is None else after_seq]
    p = query.params
    if "eventType" in p:
        clauses.append(f"event_type IN ({','.join('?' * len(p['eventType']))})")
        args.extend(p["eventType"])
    for name, column in _COLUMN.items():
        if name in p:
            clauses.append(f"{column} IN ({','.join('?' * len(p[name]))})")
            args.extend(p[name])
    for name, column in (("EQ_bizStep", "biz_step"), ("EQ_disposition", "disposition")):
        if name in p:
            clauses.append(f"{column} IN ({','.join('?' * len(p[name]))})")
            args.extend(p[name])
    for name, (column, op) in _TIMES.items():
        if name in p:
            clauses.append(f"{column} {op} ?")
            args.append(_time_ms(name, p[name][0]))
    for name, (roles, is_class) in _MATCH.items():
        if name not in p:
            continue
        keys = p[name]
        role_marks = ",".join("?" * len(roles))
        key_marks = ",".join("?" * len(keys))
        flag = "" if is_class is None else f" AND ({'' if is_class else 'NOT '}cls)"
        sub = "seq IN (SELECT seq FROM refs WHERE tenant = ? AND key IN ({}) AND role IN ({}){})"
        clauses.append(sub.format(key_marks, role_marks, flag))
        args.extend([tenant, *keys, *roles])
    sql = " AND ".join(clauses) + f" ORDER BY seq LIMIT {query.per_page + 1}"
    return sql, args
