"""The native JSON contract of device events (MQTT ``helan/v1/{tenant}/{device}/events``):
``{"ts": <epoch ms | RFC 3339, optional>, "event": "<name>", "data": {"<output>": <value>}}``
or a list of up to MAX_EVENTS_PER_MESSAGE of them.

Each event is checked on its own against the thing model's declaration (name, outputs and
their types and ranges, time window) with telemetry's rules (:mod:`helan.ingest.checks`), so
one bad event is reported and counted while the good ones of the same message are stored.
Unlike telemetry, a message that orjson refuses only because it carries ``NaN``/``Infinity``
(or a number beyond float64) is read again by the standard library, so that such a value
rejects its own event (``not_finite``) rather than the whole message.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

import orjson

from helan.config import Settings
from helan.core.events import EventRow
from helan.core.thing import DeviceRef, EventSpec, MetricSpec
from helan.ingest.checks import Window, check_value, describe, parse_ts, ts_reason
from helan.ingest.reasons import (
    MALFORMED,
    MAX_EVENTS_PER_MESSAGE,
    MAX_LISTED_ERRORS,
    MISSING_OUTPUT,
    TOO_LARGE,
    TOO_MANY_EVENTS,
    UNKNOWN_EVENT,
    UNKNOWN_OUTPUT,
    Reason,
)

_INT64 = 2**63
_NAME_CHARS = 80


@dataclass(frozen=True, slots=True)
class EventError:
    """One rejected event: its place in the message and the first problem found with it."""

    index: int
    device: str
    event: str | None
    output: str | None
    reason: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {
            "index": self.index,
            "device": self.device,
            "event": self.event,
            "output": self.output,
            "reason": self.reason,
            "message": self.message,
        }


@dataclass(slots=True)
class DecodedEvents:
    """What one events message yielded: events to store, per-event errors, or one fault."""

    tenant: str
    device: str
    rows: list[EventRow] = field(default_factory=list)
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    errors: list[EventError] = field(default_factory=list)
    fault: str | None = None
    fault_message: str = ""

    @property
    def needs_report(self) -> bool:
        return bool(self.fault or self.rejected)

    def report(self) -> dict[str, object]:
        """The JSON published on the device's ``errors`` topic: telemetry's shape, plus
        ``"topic": "events"`` so a device can tell which of its messages it is about."""
        body: dict[str, object] = {
            "topic": "events",
            "accepted": len(self.rows),
            "rejected": self.rejected,
        }
        if self.fault:
            body["error"] = {"code": self.fault, "message": self.fault_message}
        body["errors"] = [e.as_dict() for e in self.errors]
        return body

    def refuse(self, code: str, message: str) -> DecodedEvents:
        """The whole message refused: nothing of it is stored."""
        self.rows.clear()
        self.fault, self.fault_message = code, message
        self.reasons[code] += 1
        return self

    def reject(self, index: int, event: object, output: object, reason: str, message: str) -> None:
        self.rejected += 1
        self.reasons[reason] += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append(
                EventError(index, self.device, _name(event), _name(output), reason, message)
            )


def _name(value: object) -> str | None:
    """A name fit for the error report: short, and valid UTF-8 even if the device's was not."""
    if not isinstance(value, str):
        return None
    text = value[:_NAME_CHARS]
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _NAME_CHARS else text[: _NAME_CHARS - 3] + "..."


def _load(payload: bytes) -> object:
    """The JSON document; raises ValueError when it is none. orjson first (fast, and it stops
    at depth 1024); what it refuses is tried once more with the standard library, which reads
    NaN, Infinity and 1e400 (rejected per value below) and fails cleanly on deep nesting."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        first = str(exc)
    try:
        return json.loads(payload)
    except (ValueError, RecursionError):
        raise ValueError(first) from None


def check_output(spec: MetricSpec, raw: object) -> Reason:
    """One output value against its declared parameter, with the bounds JSON storage needs:
    integers within int64 and text that is valid Unicode."""
    if isinstance(raw, int) and not isinstance(raw, bool) and not -_INT64 <= raw < _INT64:
        return Reason.OUT_OF_RANGE
    if isinstance(raw, str):
        try:
            raw.encode("utf-8")
        except UnicodeEncodeError:
            return Reason.BAD_VALUE
    reason, _, _ = check_value(spec, raw)
    return reason


def _typed(spec: MetricSpec, raw: object) -> object:
    """The value as its declared type (3.0 for an int output is stored as 3)."""
    if spec.type == "float":
        return float(raw)  # type: ignore[arg-type]
    if spec.type == "int":
        return int(raw)  # type: ignore[call-overload]
    return raw


def decode_events(
    payload: bytes,
    *,
    tenant: str,
    device: str,
    ref: DeviceRef | None,
    now_ms: int,
    settings: Settings,
) -> DecodedEvents:
    """Validate one events message against the device's thing model; never raises."""
    out = DecodedEvents(tenant, device)
    if len(payload) > settings.max_payload_bytes:
        return out.refuse(
            TOO_LARGE,
            f"payload of {len(payload)} bytes exceeds the limit of {settings.max_payload_bytes}",
        )
    try:
        doc = _load(payload)
    except ValueError as exc:
        return out.refuse(MALFORMED, f"not valid JSON: {exc}")
    if type(doc) is dict:
        items: list[object] = [doc]
    elif type(doc) is list:
        items = doc
    else:
        return out.refuse(MALFORMED, "expected an event object or a list of them")
    if len(items) > MAX_EVENTS_PER_MESSAGE:
        return out.refuse(
            TOO_MANY_EVENTS,
            f"{len(items)} events in one message; the limit is {MAX_EVENTS_PER_MESSAGE}",
        )
    whole = Reason.OK
    if ref is None:
        whole = Reason.UNKNOWN_DEVICE
    elif not ref.enabled:
        whole = Reason.DEVICE_DISABLED
    window = Window.around(now_ms, settings)
    for index, item in enumerate(items):
        if whole:
            name = item.get("event") if type(item) is dict else None
            message = describe(
                whole,
                tenant=tenant,
                device=device,
                metric=None,
                spec=None,
                value=None,
                ts=None,
                settings=settings,
            )
            out.reject(index, name, None, whole.code, message)
            continue
        assert ref is not None
        _one(out, index, item, ref, window, settings)
    return out


def _one(
    out: DecodedEvents,
    index: int,
    item: object,
    ref: DeviceRef,
    window: Window,
    settings: Settings,
) -> None:
    """Check one event; store it in ``out.rows`` or record its first problem. Order as for
    telemetry: names first (event, outputs), then values, then the time."""
    if type(item) is not dict:
        out.reject(index, None, None, MALFORMED, f"event {index}: expected a JSON object")
        return
    name = item.get("event")
    if type(name) is not str:
        out.reject(index, None, None, MALFORMED, f"event {index}: 'event' must be the event's name")
        return
    spec: EventSpec | None = ref.events.get(name)
    if spec is None:
        model = f"thing model {ref.device_type!r}" if ref.device_type else "no thing model"
        out.reject(
            index,
            name,
            None,
            UNKNOWN_EVENT,
            f"event {_short(name)} is not declared by device {ref.device!r}'s {model}",
        )
        return
    data = item.get("data")
    if data is None:
        data = {}
    if type(data) is not dict:
        out.reject(index, name, None, MALFORMED, f"event {name!r}: 'data' must be a JSON object")
        return
    for key in data:
        if key not in spec.outputs:
            out.reject(
                index,
                name,
                key,
                UNKNOWN_OUTPUT,
                f"{_short(key)} is not an output of event {name!r}",
            )
            return
    missing = sorted(spec.required - data.keys())
    if missing:
        out.reject(
            index,
            name,
            missing[0],
            MISSING_OUTPUT,
            f"event {name!r}: required output(s) {', '.join(map(repr, missing))} missing",
        )
        return
    typed: dict[str, object] = {}
    for key, raw in data.items():
        output = spec.outputs[key]
        reason = check_output(output, raw)
        if reason:
            if reason is Reason.BAD_VALUE and type(raw) is str:
                detail = "text is not valid Unicode"
            else:
                detail = describe(
                    reason,
                    tenant=out.tenant,
                    device=out.device,
                    metric=key,
                    spec=output,
                    value=raw,
                    ts=None,
                    settings=settings,
                )
            out.reject(index, name, key, reason.code, f"event {name!r}, output {key!r}: {detail}")
            return
        typed[key] = _typed(output, raw)
    raw_ts = item.get("ts")
    ts = parse_ts(raw_ts, window.now)
    when = Reason.BAD_TS if ts is None else ts_reason(ts, window)
    if when:
        detail = describe(
            when,
            tenant=out.tenant,
            device=out.device,
            metric=None,
            spec=None,
            value=None,
            ts=raw_ts if ts is None else ts,
            settings=settings,
        )
        out.reject(index, name, None, when.code, f"event {name!r}: {detail}")
        return
    assert ts is not None
    out.rows.append(EventRow(out.tenant, out.device, ts, name, spec.level, typed))
