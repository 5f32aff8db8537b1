"""Sparkplug B payloads as plain values: encode for the edge, decode for the platform.

Pure (no sockets, no clock) so that the platform's ingest can decode any conformant edge
node's payloads with the same code. Signed integers travel as two's complement in the
unsigned protobuf fields (Sparkplug 3.0, section 6.4.16): 32 bits for Int8/16/32, 64 for Int64.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum

from google.protobuf.message import DecodeError

from helan.protocol.floats import shortest_float32
from helan.protocol.sparkplug import sparkplug_b_pb2 as pb

Scalar = bool | int | float | str | bytes


class SparkplugError(ValueError):
    """A payload that is not valid Sparkplug B (truncated, wrong value field, out of range)."""


class DataType(IntEnum):
    """The scalar Sparkplug types Helan reads and writes (``DataType`` in the .proto)."""

    INT8 = 1
    INT16 = 2
    INT32 = 3
    INT64 = 4
    UINT8 = 5
    UINT16 = 6
    UINT32 = 7
    UINT64 = 8
    FLOAT = 9
    DOUBLE = 10
    BOOLEAN = 11
    STRING = 12
    DATETIME = 13
    TEXT = 14
    BYTES = 17


_INT_RANGE: dict[DataType, tuple[int, int]] = {
    DataType.INT8: (-(2**7), 2**7 - 1),
    DataType.INT16: (-(2**15), 2**15 - 1),
    DataType.INT32: (-(2**31), 2**31 - 1),
    DataType.INT64: (-(2**63), 2**63 - 1),
    DataType.UINT8: (0, 2**8 - 1),
    DataType.UINT16: (0, 2**16 - 1),
    DataType.UINT32: (0, 2**32 - 1),
    DataType.UINT64: (0, 2**64 - 1),
    DataType.DATETIME: (0, 2**64 - 1),
}
_FIELD: dict[DataType, str] = {
    DataType.INT8: "int_value",
    DataType.INT16: "int_value",
    DataType.INT32: "int_value",
    DataType.UINT8: "int_value",
    DataType.UINT16: "int_value",
    DataType.UINT32: "int_value",
    DataType.INT64: "long_value",
    DataType.UINT64: "long_value",
    DataType.DATETIME: "long_value",
    DataType.FLOAT: "float_value",
    DataType.DOUBLE: "double_value",
    DataType.BOOLEAN: "boolean_value",
    DataType.STRING: "string_value",
    DataType.TEXT: "string_value",
    DataType.BYTES: "bytes_value",
}
_PROPERTY_FIELD = {k: v for k, v in _FIELD.items() if v != "bytes_value"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Metric:
    """One metric; ``value`` None means ``is_null`` (Helan sends bad-quality points that way)."""

    name: str | None = None
    alias: int | None = None
    timestamp: int | None = None
    datatype: DataType | None = None
    value: Scalar | None = None
    is_historical: bool = False
    properties: Mapping[str, Scalar] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Payload:
    timestamp: int | None = None
    seq: int | None = None
    metrics: tuple[Metric, ...] = ()
    uuid: str | None = None


def datatype_of(value: Scalar) -> DataType:
    """The natural Sparkplug type of a Python value (bool before int: bool is an int)."""
    if isinstance(value, bool):
        return DataType.BOOLEAN
    if isinstance(value, int):
        return DataType.INT64
    if isinstance(value, float):
        return DataType.DOUBLE
    if isinstance(value, str):
        return DataType.STRING
    return DataType.BYTES


def _property_type(value: Scalar) -> DataType:
    """Int32 for small integers: what Ignition and Tahu use for the ``Quality`` property."""
    if isinstance(value, int) and not isinstance(value, bool) and -(2**31) <= value < 2**31:
        return DataType.INT32
    return datatype_of(value)


def _to_wire(datatype: DataType, value: Scalar, what: str) -> Scalar:
    if datatype in _INT_RANGE:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SparkplugError(f"{what}: {datatype.name} needs an integer, got {value!r}")
        low, high = _INT_RANGE[datatype]
        if not low <= value <= high:
            raise SparkplugError(f"{what}: {value} out of range for {datatype.name}")
        bits = 64 if _FIELD[datatype] == "long_value" else 32
        return value & ((1 << bits) - 1)
    if datatype in (DataType.FLOAT, DataType.DOUBLE):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SparkplugError(f"{what}: {datatype.name} needs a number, got {value!r}")
        return float(value)
    if datatype is DataType.BOOLEAN:
        if not isinstance(value, bool):
            raise SparkplugError(f"{what}: Boolean needs a bool, got {value!r}")
        return value
    if datatype is DataType.BYTES:
        if not isinstance(value, bytes):
            raise SparkplugError(f"{what}: Bytes needs bytes, got {value!r}")
        return value
    if not isinstance(value, str):
        raise SparkplugError(f"{what}: {datatype.name} needs a string, got {value!r}")
    return value


def _from_wire(datatype: DataType, raw: Scalar) -> Scalar:
    if datatype in _INT_RANGE and isinstance(raw, int):
        low, high = _INT_RANGE[datatype]
        bits = 64 if _FIELD[datatype] == "long_value" else 32
        value = raw - (1 << bits) if low < 0 and raw >= 1 << (bits - 1) else raw
        if not low <= value <= high:
            raise SparkplugError(f"value {value} out of range for {datatype.name}")
        return value
    return raw


def encode_payload(payload: Payload) -> bytes:
    """Serialise; raises :class:`SparkplugError` when a value does not fit its declared type."""
    msg = pb.Payload()
    if payload.timestamp is not None:
        msg.timestamp = payload.timestamp
    if payload.seq is not None:
        msg.seq = payload.seq
    if payload.uuid is not None:
        msg.uuid = payload.uuid
    for metric in payload.metrics:
        out = msg.metrics.add()
        what = f"metric {metric.name or metric.alias!r}"
        if metric.name is not None:
            out.name = metric.name
        if metric.alias is not None:
            out.alias = metric.alias
        if metric.timestamp is not None:
            out.timestamp = metric.timestamp
        if metric.datatype is not None:
            out.datatype = metric.datatype
        if metric.is_historical:
            out.is_historical = True
        if metric.value is None:
            out.is_null = True
        else:
            datatype = metric.datatype or datatype_of(metric.value)
            setattr(out, _FIELD[datatype], _to_wire(datatype, metric.value, what))
        for key, prop in metric.properties.items():
            ptype = _property_type(prop)
            out.properties.keys.append(key)
            pv = out.properties.values.add()
            pv.type = ptype
            setattr(pv, _PROPERTY_FIELD[ptype], _to_wire(ptype, prop, f"{what} property {key!r}"))
    return msg.SerializeToString()


def _datatype(code: int, what: str) -> DataType:
    try:
        return DataType(code)
    except ValueError:
        raise SparkplugError(f"{what}: unsupported datatype {code}") from None


def _metric(m: pb.Payload.Metric, datatypes: Mapping[int, DataType]) -> Metric:
    what = f"metric {m.name or m.alias!r}"
    datatype: DataType | None = None
    if m.HasField("datatype"):
        datatype = _datatype(m.datatype, what)
    elif m.HasField("alias") and m.alias in datatypes:
        datatype = datatypes[m.alias]
    value: Scalar | None = None
    kind = m.WhichOneof("value")
    if not m.is_null and kind is not None:
        if datatype is not None and _FIELD[datatype] != kind:
            raise SparkplugError(f"{what}: {datatype.name} value carried in {kind}")
        raw: Scalar = getattr(m, kind)
        value = _from_wire(datatype, raw) if datatype is not None else raw
        if isinstance(value, float) and datatype is DataType.FLOAT:
            value = shortest_float32(value)
    properties: dict[str, Scalar] = {}
    if m.HasField("properties"):
        keys, values = m.properties.keys, m.properties.values
        if len(keys) != len(values):
            raise SparkplugError(f"{what}: {len(keys)} property keys for {len(values)} values")
        for key, pv in zip(keys, values, strict=True):
            pkind = pv.WhichOneof("value")
            if pkind in _PROPERTY_FIELD.values():
                ptype = _datatype(pv.type, f"{what} property {key!r}")
                properties[key] = _from_wire(ptype, getattr(pv, pkind))
    return Metric(
        name=m.name if m.HasField("name") else None,
        alias=m.alias if m.HasField("alias") else None,
        timestamp=m.timestamp if m.HasField("timestamp") else None,
        datatype=datatype,
        value=value,
        is_historical=m.is_historical,
        properties=properties,
    )


def decode_payload(data: bytes, datatypes: Mapping[int, DataType] | None = None) -> Payload:
    """Parse a payload; ``datatypes`` maps aliases to the types their birth certificate declared,
    so alias-only DATA metrics come back with signed integers restored."""
    msg = pb.Payload()
    try:
        msg.ParseFromString(data)
    except DecodeError as exc:
        raise SparkplugError(f"not a Sparkplug B payload ({len(data)} bytes): {exc}") from None
    known = datatypes or {}
    return Payload(
        timestamp=msg.timestamp if msg.HasField("timestamp") else None,
        seq=msg.seq if msg.HasField("seq") else None,
        uuid=msg.uuid if msg.HasField("uuid") else None,
        metrics=tuple(_metric(m, known) for m in msg.metrics),
    )
