"""The validation rules, written twice on purpose: per value for MQTT messages (a few points
each, where numpy's call overhead would dominate) and vectorised for HTTP bulk bodies (millions of
points). Both return the same :class:`Reason` codes; tests run the same cases through both."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from helan.config import Settings
from helan.core.thing import MetricSpec
from helan.ingest.reasons import MAX_TEXT_CHARS, Reason

# Values are stored as float64, which holds every integer up to 2**53 exactly: an ``int``
# metric beyond that would be stored rounded while the caller believes it exact, so it is
# refused as out of range.
MAX_EXACT_INT = float(2**53)
# Thing-model types as small integers for the vectorised path.
T_FLOAT, T_INT, T_BOOL, T_STRING = 0, 1, 2, 3
TYPE_CODE = {"float": T_FLOAT, "int": T_INT, "bool": T_BOOL, "string": T_STRING}
# What kind of JSON/CSV value a point carried.
K_NUM, K_BOOL, K_STR, K_RAW, K_BAD = 0, 1, 2, 3, 4  # K_RAW: CSV text, parsed as number if it is one

Bools = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Codes = npt.NDArray[np.int8]


@dataclass(frozen=True, slots=True)
class Window:
    """Accepted timestamps, epoch ms inclusive, fixed once per message or body."""

    lo: int
    hi: int
    now: int

    @classmethod
    def around(cls, now_ms: int, settings: Settings) -> Window:
        return cls(
            lo=now_ms - settings.max_past_age_s * 1000,
            hi=now_ms + settings.max_future_skew_s * 1000,
            now=now_ms,
        )


def parse_ts(raw: object, now_ms: int) -> int | None:
    """Epoch ms from a JSON timestamp (missing = now); None when it is not a timestamp at all."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if raw is None:
        return now_ms
    if isinstance(raw, float):
        return int(raw) if math.isfinite(raw) else None
    if isinstance(raw, str):
        return parse_rfc3339(raw)
    return None


def parse_rfc3339(text: str) -> int | None:
    """RFC 3339 with an explicit offset ('Z' or ±hh:mm); naive local times are refused."""
    if len(text) > 40 or "T" not in text.upper():
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    return int(when.timestamp() * 1000)


def ts_reason(ts: int, window: Window) -> Reason:
    if ts > window.hi:
        return Reason.TS_FUTURE
    if ts < window.lo:
        return Reason.TS_PAST
    return Reason.OK


def check_value(spec: MetricSpec, raw: object) -> tuple[Reason, float | None, str | None]:
    """One JSON value against its thing-model property: (reason, value, text)."""
    t = type(raw)
    kind = spec.type
    if kind == "float" or kind == "int":
        if t is float:
            value: float = raw  # type: ignore[assignment]
            if not math.isfinite(value):
                return Reason.NOT_FINITE, None, None
            if kind == "int" and not value.is_integer():
                return Reason.WRONG_TYPE, None, None
        elif t is int:
            value = float(raw)  # type: ignore[arg-type]
        else:
            return _mismatch(t), None, None
        if kind == "int" and abs(value) > MAX_EXACT_INT:
            return Reason.OUT_OF_RANGE, None, None
        lo, hi = spec.min, spec.max
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            return Reason.OUT_OF_RANGE, None, None
        return Reason.OK, value, None
    if kind == "bool":
        if t is bool:
            return Reason.OK, 1.0 if raw else 0.0, None
        return _mismatch(t), None, None
    if t is str:
        if len(raw) > MAX_TEXT_CHARS:  # type: ignore[arg-type]
            return Reason.OUT_OF_RANGE, None, None
        return Reason.OK, None, raw  # type: ignore[return-value]
    return _mismatch(t), None, None


def _mismatch(t: type) -> Reason:
    """A scalar of another type is the wrong type; null, a list or an object is no value."""
    return Reason.WRONG_TYPE if t in (int, float, bool, str) else Reason.BAD_VALUE


def describe(
    reason: Reason,
    *,
    tenant: str,
    device: str | None,
    metric: str | None,
    spec: MetricSpec | None,
    value: object,
    ts: object,
    settings: Settings,
) -> str:
    """The human half of an error record; the code is ``reason.code``."""
    match reason:
        case Reason.UNKNOWN_DEVICE:
            return f"device {device!r} is not registered in tenant {tenant!r}"
        case Reason.DEVICE_DISABLED:
            return f"device {device!r} is disabled"
        case Reason.UNKNOWN_METRIC:
            return f"metric {metric!r} is not a property of device {device!r}'s thing model"
        case Reason.WRONG_TYPE:
            wanted = spec.type if spec else "number, boolean or string"
            return f"value {_short(value)} is not of type {wanted}"
        case Reason.NOT_FINITE:
            return f"value {_short(value)} is not a finite number"
        case Reason.OUT_OF_RANGE:
            if spec is not None and spec.type == "string":
                return f"text longer than {MAX_TEXT_CHARS} characters"
            lo = spec.min if spec else None
            hi = spec.max if spec else None
            return f"value {_short(value)} is outside [{lo}, {hi}]"
        case Reason.TS_FUTURE:
            return f"timestamp {ts} ms is more than {settings.max_future_skew_s} s in the future"
        case Reason.TS_PAST:
            return f"timestamp {ts} ms is more than {settings.max_past_age_s} s in the past"
        case Reason.BAD_TS:
            return f"timestamp {_short(ts)} is neither epoch ms nor RFC 3339 with an offset"
        case Reason.BAD_VALUE:
            return f"value {_short(value)} is not a number, boolean or string"
        case Reason.BAD_NAME:
            return f"device {_short(device)} / metric {_short(metric)}: invalid or missing name"
        case _:
            return "accepted"


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_arrays(
    *,
    kind: Codes,
    value: Floats,
    text_len: Ints | None,
    ts: Ints,
    ts_bad: Bools | None = None,
    raw_numeric: Bools | None = None,
    status: Codes | int = 0,
    spec_type: Codes | int = T_FLOAT,
    lo: Floats | float = -np.inf,
    hi: Floats | float = np.inf,
    window: Window,
) -> Codes:
    """Reason per point (0 = accepted). ``status`` carries device/metric lookup failures and
    wins over value problems, which win over timestamp problems. Arguments are per point or
    one scalar for all (a JSON column of one metric)."""
    n = len(ts)
    reason = np.zeros(n, dtype=np.int8)
    reason[ts > window.hi] = Reason.TS_FUTURE
    reason[ts < window.lo] = Reason.TS_PAST
    if ts_bad is not None:
        reason[ts_bad] = Reason.BAD_TS
    spec_type = np.broadcast_to(np.asarray(spec_type, dtype=np.int8), (n,))
    numeric = spec_type <= T_INT
    is_num = kind == K_NUM
    raw = kind == K_RAW
    # CSV cells arrive as text: a K_RAW point is numeric when its text parsed as a number.
    has_num = raw_numeric if raw_numeric is not None else np.zeros(n, dtype=np.bool_)
    type_ok = np.where(
        numeric,
        is_num | (raw & has_num),
        np.where(
            spec_type == T_BOOL,
            (kind == K_BOOL) | (raw & ((value == 0.0) | (value == 1.0))),
            (kind == K_STR) | raw,
        ),
    )
    num_ok = numeric & type_ok
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(value)
        reason[num_ok & finite & ((value < lo) | (value > hi))] = Reason.OUT_OF_RANGE
        reason[num_ok & finite & (spec_type == T_INT) & (np.abs(value) > MAX_EXACT_INT)] = (
            Reason.OUT_OF_RANGE
        )
        reason[num_ok & finite & (spec_type == T_INT) & (value != np.floor(value))] = (
            Reason.WRONG_TYPE
        )
    if text_len is not None:
        too_long = (spec_type == T_STRING) & type_ok & (text_len > MAX_TEXT_CHARS)
        reason[too_long] = Reason.OUT_OF_RANGE
    reason[num_ok & ~finite] = Reason.NOT_FINITE
    reason[~type_ok] = Reason.WRONG_TYPE
    reason[kind == K_BAD] = Reason.BAD_VALUE
    status_arr = np.broadcast_to(np.asarray(status, dtype=np.int8), (n,))
    bad_status = status_arr != 0
    reason[bad_status] = status_arr[bad_status]
    return reason
