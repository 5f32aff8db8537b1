"""Register words <-> values, and which points one request can read. Pure: no I/O.

Word order "big" puts the most significant register first (Modbus's own convention, "ABCD");
byte order "little" swaps the two bytes inside each register ("BADC" with big word order).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from helan.edge.adapters.modbus.config import (
    BIT_TABLES,
    REGISTER_COUNT,
    ModbusDataType,
    ModbusPoint,
    Order,
    RegisterType,
)
from helan.edge.readings import Scalar
from helan.protocol.floats import shortest_float32

_FORMAT = {
    "int16": ">h",
    "uint16": ">H",
    "int32": ">i",
    "uint32": ">I",
    "float32": ">f",
    "int64": ">q",
    "uint64": ">Q",
    "float64": ">d",
}
_INTEGER_RANGE = {
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
}


class CodecError(ValueError):
    """Registers that cannot be a value of the declared type, or a value that cannot be written."""


def _to_bytes(registers: Sequence[int], byte_order: Order, word_order: Order) -> bytes:
    words = registers if word_order == "big" else list(reversed(registers))
    fmt = ">" if byte_order == "big" else "<"
    return struct.pack(f"{fmt}{len(words)}H", *words)


def decode(
    registers: Sequence[int], dtype: ModbusDataType, byte_order: Order, word_order: Order
) -> int | float | bool:
    """The raw value held by ``registers`` (exactly the type's register count)."""
    need = REGISTER_COUNT[dtype]
    if len(registers) != need:
        raise CodecError(f"{dtype} needs {need} registers, got {len(registers)}")
    if dtype == "bool":
        return registers[0] != 0
    (value,) = struct.unpack(_FORMAT[dtype], _to_bytes(registers, byte_order, word_order))
    if dtype == "float32":
        return shortest_float32(value)
    return value  # type: ignore[no-any-return]  # struct.unpack is untyped


def encode(
    value: int | float | bool, dtype: ModbusDataType, byte_order: Order, word_order: Order
) -> list[int]:
    """Registers that hold ``value``; raises :class:`CodecError` when it does not fit."""
    if dtype == "bool":
        return [1 if value else 0]
    if dtype in _INTEGER_RANGE:
        if isinstance(value, float):
            if not value.is_integer():
                raise CodecError(f"{value} is not an integer, {dtype} needs one")
            value = int(value)
        low, high = _INTEGER_RANGE[dtype]
        if not low <= value <= high:
            raise CodecError(f"{value} out of range for {dtype} [{low}, {high}]")
    raw = struct.pack(_FORMAT[dtype], value)
    count = len(raw) // 2
    words = list(struct.unpack(f">{count}H", raw))
    if byte_order == "little":
        words = [((w & 0xFF) << 8) | (w >> 8) for w in words]
    return words if word_order == "big" else list(reversed(words))


def to_engineering(point: ModbusPoint, raw: int | float | bool) -> Scalar:
    """Apply scale and offset; an unscaled integer stays an integer."""
    if isinstance(raw, bool) or (point.scale == 1.0 and point.offset == 0.0):
        return raw
    return raw * point.scale + point.offset


def from_engineering(point: ModbusPoint, value: Scalar) -> list[int] | bool:
    """What to write for a command value: registers, or a bool for a coil.

    Checks the point's declared ``min``/``max`` on the engineering value before anything else.
    """
    if isinstance(value, str):
        raise CodecError(f"point {point.metric!r} takes a number, not a string")
    if point.type == "bool":
        if not isinstance(value, bool) and value not in (0, 1):
            raise CodecError(f"point {point.metric!r} takes true/false, got {value!r}")
        return bool(value) if point.table == "coil" else encode(bool(value), "bool", "big", "big")
    if isinstance(value, bool):
        raise CodecError(f"point {point.metric!r} takes a number, got {value!r}")
    if point.min is not None and value < point.min:
        raise CodecError(f"{value} below the minimum {point.min} of {point.metric!r}")
    if point.max is not None and value > point.max:
        raise CodecError(f"{value} above the maximum {point.max} of {point.metric!r}")
    raw: int | float = (value - point.offset) / point.scale
    if point.type in _INTEGER_RANGE:
        raw = round(raw)
    return encode(raw, point.type, point.byte_order, point.word_order)


@dataclass(frozen=True, slots=True)
class ReadBlock:
    """One request: ``count`` addresses from ``start`` in one table, covering ``points``."""

    table: RegisterType
    start: int
    count: int
    points: tuple[ModbusPoint, ...]


def plan_reads(
    points: Iterable[ModbusPoint],
    *,
    max_gap: int,
    max_bit_gap: int,
    max_registers: int,
    max_bits: int,
) -> list[ReadBlock]:
    """Merge neighbouring points into as few requests as the protocol limits and gaps allow."""
    by_table: dict[RegisterType, list[ModbusPoint]] = {}
    for p in points:
        by_table.setdefault(p.table, []).append(p)
    blocks: list[ReadBlock] = []
    for table, members in by_table.items():
        bits = table in BIT_TABLES
        gap, limit = (max_bit_gap, max_bits) if bits else (max_gap, max_registers)
        members.sort(key=lambda p: (p.address, p.width))
        current: list[ModbusPoint] = []
        start = end = 0
        for p in members:
            p_end = p.address + p.width
            if current and p.address - end <= gap and max(end, p_end) - start <= limit:
                current.append(p)
                end = max(end, p_end)
                continue
            if current:
                blocks.append(ReadBlock(table, start, end - start, tuple(current)))
            current, start, end = [p], p.address, p_end
        if current:
            blocks.append(ReadBlock(table, start, end - start, tuple(current)))
    return blocks


def decode_block(
    block: ReadBlock, data: Sequence[int] | Sequence[bool]
) -> tuple[dict[ModbusPoint, Scalar], dict[ModbusPoint, str]]:
    """Values of a block's points from the words/bits read; a point that cannot be decoded is
    reported with its reason instead of failing its neighbours."""
    values: dict[ModbusPoint, Scalar] = {}
    bad: dict[ModbusPoint, str] = {}
    for p in block.points:
        offset = p.address - block.start
        if block.table in BIT_TABLES:
            values[p] = bool(data[offset])
            continue
        words = [int(w) for w in data[offset : offset + p.width]]
        try:
            raw = decode(words, p.type, p.byte_order, p.word_order)
        except CodecError as exc:
            bad[p] = f"decode: {exc}"
            continue
        values[p] = to_engineering(p, raw)
    return values, bad
