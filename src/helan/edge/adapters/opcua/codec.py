"""OPC UA values and status codes -> gateway values and quality. Pure: no I/O."""

from __future__ import annotations

from datetime import UTC, datetime

from asyncua import ua

from helan.edge.readings import Scalar


class UnsupportedValue(ValueError):
    """A variant type the gateway does not forward (arrays, structures, byte strings)."""


def to_scalar(value: object) -> Scalar:
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    if isinstance(value, ua.LocalizedText):
        return value.Text or ""
    raise UnsupportedValue(f"unsupported OPC UA value of type {type(value).__name__}")


def quality_problem(status: ua.StatusCode | None) -> str | None:
    """None when the value is good; otherwise why it is not (the status code's name)."""
    if status is None or status.is_good():
        return None
    return f"opc ua status {status.name}"


def source_ms(data_value: ua.DataValue, fallback: int) -> int:
    """The source timestamp when the server gives one; else the server's, else ours."""
    for stamp in (data_value.SourceTimestamp, data_value.ServerTimestamp):
        if stamp is not None:
            moment = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
            return int(moment.timestamp() * 1000)
    return fallback


_INT_RANGES = {
    ua.VariantType.SByte: (-(2**7), 2**7 - 1),
    ua.VariantType.Byte: (0, 2**8 - 1),
    ua.VariantType.Int16: (-(2**15), 2**15 - 1),
    ua.VariantType.UInt16: (0, 2**16 - 1),
    ua.VariantType.Int32: (-(2**31), 2**31 - 1),
    ua.VariantType.UInt32: (0, 2**32 - 1),
    ua.VariantType.Int64: (-(2**63), 2**63 - 1),
    ua.VariantType.UInt64: (0, 2**64 - 1),
}


def to_variant(value: Scalar, current: ua.VariantType) -> ua.Variant:
    """A write value in the node's own variant type (servers refuse a Double for an Int32)."""
    if current in (ua.VariantType.Float, ua.VariantType.Double):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UnsupportedValue(f"{current.name} takes a number, got {value!r}")
        return ua.Variant(float(value), current)
    if current is ua.VariantType.Boolean:
        if not isinstance(value, bool):
            raise UnsupportedValue(f"Boolean takes true/false, got {value!r}")
        return ua.Variant(value, current)
    if current is ua.VariantType.String:
        return ua.Variant(str(value), current)
    if isinstance(value, bool) or not isinstance(value, int):
        raise UnsupportedValue(f"{current.name} takes an integer, got {value!r}")
    low, high = _INT_RANGES.get(current, (None, None))
    if low is None or high is None:
        raise UnsupportedValue(f"{current.name} values are not written by the gateway")
    if not low <= value <= high:
        raise UnsupportedValue(f"{value} does not fit {current.name} [{low}, {high}]")
    return ua.Variant(value, current)
