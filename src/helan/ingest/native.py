"""The native JSON contract of one device (MQTT ``.../telemetry`` and HTTP ``devices/me``):
``{"ts": <epoch ms | RFC 3339>, "values": {"<metric>": <number|bool|string>}}`` or a list of them.

Decoding is per value in plain Python: a message holds a handful of points, and this is the
hot loop of MQTT ingest, so it avoids building any Arrow or numpy object per message.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import orjson

from helan.config import Settings
from helan.core.thing import DeviceRef
from helan.ingest.checks import Window, check_value, describe, parse_ts, ts_reason
from helan.ingest.reasons import (
    MALFORMED,
    MAX_LISTED_ERRORS,
    TOO_LARGE,
    TOO_MANY_POINTS,
    PointError,
    Reason,
)
from helan.protocol.native import MAX_POINTS_PER_MESSAGE


@dataclass(slots=True)
class DevicePoints:
    """Accepted points of one device as parallel lists; the pipeline turns many into one batch."""

    tenant: str
    device: str
    metric: list[str] = field(default_factory=list)
    ts: list[int] = field(default_factory=list)
    value: list[float | None] = field(default_factory=list)
    text: list[str | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ts)


@dataclass(slots=True)
class Decoded:
    """What one message yielded: accepted points, per-point errors, or one message-level fault."""

    points: DevicePoints
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    errors: list[PointError] = field(default_factory=list)
    fault: str | None = None  # message-level reason code (malformed, too_large, ...)
    fault_message: str = ""

    def report(self) -> dict[str, object]:
        """The JSON published on the device's ``errors`` topic and returned over HTTP."""
        body: dict[str, object] = {"accepted": len(self.points), "rejected": self.rejected}
        if self.fault:
            body["error"] = {"code": self.fault, "message": self.fault_message}
        body["errors"] = [e.as_dict() for e in self.errors]
        return body


def _fault(points: DevicePoints, code: str, message: str) -> Decoded:
    decoded = Decoded(points, fault=code, fault_message=message)
    decoded.reasons[code] += 1
    return decoded


def decode_native(
    payload: bytes,
    *,
    tenant: str,
    device: str,
    ref: DeviceRef | None,
    now_ms: int,
    settings: Settings,
) -> Decoded:
    """Validate one message against the device's thing model; never raises."""
    points = DevicePoints(tenant, device)
    if len(payload) > settings.max_payload_bytes:
        return _fault(
            points,
            TOO_LARGE,
            f"payload of {len(payload)} bytes exceeds the limit of {settings.max_payload_bytes}",
        )
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        return _fault(points, MALFORMED, f"not valid JSON: {exc}")
    samples = doc if type(doc) is list else [doc]
    total = 0
    for i, sample in enumerate(samples):
        if type(sample) is not dict or type(sample.get("values")) is not dict:
            return _fault(
                points, MALFORMED, f"sample {i}: expected an object with a 'values' object"
            )
        total += len(sample["values"])
    if total > MAX_POINTS_PER_MESSAGE:
        return _fault(
            points,
            TOO_MANY_POINTS,
            f"{total} points in one message; the limit is {MAX_POINTS_PER_MESSAGE}",
        )
    window = Window.around(now_ms, settings)
    decoded = Decoded(points)
    whole: Reason = Reason.OK
    if ref is None:
        whole = Reason.UNKNOWN_DEVICE
    elif not ref.enabled:
        whole = Reason.DEVICE_DISABLED
    specs = ref.metrics if ref is not None else {}
    index = 0
    for sample in samples:
        raw_ts = sample.get("ts")
        ts = parse_ts(raw_ts, now_ms)
        when = Reason.BAD_TS if ts is None else ts_reason(ts, window)
        for name, raw in sample["values"].items():
            reason = whole
            spec = None
            if not reason:
                spec = specs.get(name)
                if spec is None:
                    reason = Reason.UNKNOWN_METRIC
                else:
                    reason, value, text = check_value(spec, raw)
                    if not reason:
                        reason = when
                    if not reason:
                        points.metric.append(name)
                        points.ts.append(ts)  # type: ignore[arg-type]
                        points.value.append(value)
                        points.text.append(text)
                        index += 1
                        continue
            decoded.rejected += 1
            decoded.reasons[reason.code] += 1
            if len(decoded.errors) < MAX_LISTED_ERRORS:
                message = describe(
                    reason,
                    tenant=tenant,
                    device=device,
                    metric=name,
                    spec=spec,
                    value=raw,
                    ts=raw_ts if ts is None else ts,
                    settings=settings,
                )
                decoded.errors.append(PointError(index, device, name, reason.code, message))
            index += 1
    return decoded
