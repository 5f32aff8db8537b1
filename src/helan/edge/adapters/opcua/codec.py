"""OPC UA values and status codes -> gateway values and quality. Pure: no I/O."""

from __future__ import annotations

from datetime import UTC, datetime

from asyncua import ua

from helan.edge.readings import Scalar


class UnsupportedValue(ValueError):
    """A value the gateway does not forward: a structure, a byte string, an array where a
    scalar is configured, or an array of another shape than configured."""


def to_scalar(value: object) -> Scalar:
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    if isinstance(value, ua.LocalizedText):
        return value.Text or ""
    if isinstance(value, list):
        raise UnsupportedValue(
            f"got an array of {len(value)} elements where a scalar is configured "
            "(an array node takes elements = [...])"
        )
    raise UnsupportedValue(f"unsupported OPC UA value of type {type(value).__name__}")


# Variant types whose array elements asyncua already decodes to plain bool/int/float, so the
# decoded list is forwarded as is (no per-element Python call at tens of thousands of points/s).
_PLAIN = frozenset(
    {
        ua.VariantType.Boolean,
        ua.VariantType.SByte,
        ua.VariantType.Byte,
        ua.VariantType.Int16,
        ua.VariantType.UInt16,
        ua.VariantType.Int32,
        ua.VariantType.UInt32,
        ua.VariantType.Int64,
        ua.VariantType.UInt64,
        ua.VariantType.Float,
        ua.VariantType.Double,
    }
)


def array_elements(variant: ua.Variant | None, length: int) -> list[Scalar | UnsupportedValue]:
    """The elements of an array value, one per configured element; an element that cannot be
    converted is its :class:`UnsupportedValue` (BAD for that element only).

    Raises :class:`UnsupportedValue` when the value is not a one-dimensional array of exactly
    ``length`` elements: a PLC whose data block changed shape would otherwise shift values
    onto the wrong metrics, so no element of it is trusted.
    """
    expected = f"expected an array of {length} elements"
    if variant is None or variant.Value is None:
        raise UnsupportedValue(f"{expected}, got no value")
    value = variant.Value
    if not isinstance(value, list | tuple):
        raise UnsupportedValue(f"{expected}, got a scalar {variant.VariantType.name}")
    if variant.Dimensions is not None and len(variant.Dimensions) > 1:
        raise UnsupportedValue(f"{expected}, got an array of dimensions {variant.Dimensions}")
    if len(value) != length:
        raise UnsupportedValue(f"{expected}, got {len(value)}")
    if variant.VariantType in _PLAIN:
        return list(value)
    return [_element(v) for v in value]


def _element(value: object) -> Scalar | UnsupportedValue:
    try:
        return to_scalar(value)
    except UnsupportedValue as exc:
        return exc


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
