"""The pure Modbus codec: word/byte orders, ranges, scaling and request planning."""

from __future__ import annotations

import pytest

from helan.edge.adapters.modbus.codec import (
    CodecError,
    decode,
    decode_block,
    encode,
    from_engineering,
    plan_reads,
    to_engineering,
)
from helan.edge.adapters.modbus.config import ModbusPoint


@pytest.mark.parametrize(
    ("byte_order", "word_order", "words"),
    [
        ("big", "big", [0x3F9D, 0xF3B6]),  # ABCD
        ("big", "little", [0xF3B6, 0x3F9D]),  # CDAB
        ("little", "big", [0x9D3F, 0xB6F3]),  # BADC
        ("little", "little", [0xB6F3, 0x9D3F]),  # DCBA
    ],
)
def test_float32_in_every_order(byte_order: str, word_order: str, words: list[int]) -> None:
    assert decode(words, "float32", byte_order, word_order) == 1.234  # type: ignore[arg-type]
    assert encode(1.234, "float32", byte_order, word_order) == words  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("dtype", "value"),
    [
        ("int16", -2),
        ("uint16", 65535),
        ("int32", -100_000),
        ("uint32", 4_000_000_000),
        ("int64", -(2**62)),
        ("uint64", 2**64 - 1),
        ("float64", -12345.678),
        ("bool", True),
    ],
)
@pytest.mark.parametrize("order", ["big", "little"])
def test_round_trip(dtype: str, value: object, order: str) -> None:
    words = encode(value, dtype, order, order)  # type: ignore[arg-type]
    assert all(0 <= w <= 0xFFFF for w in words)
    assert decode(words, dtype, order, order) == value  # type: ignore[arg-type]


def test_known_vectors() -> None:
    assert decode([0xFFFE], "int16", "big", "big") == -2
    assert decode([0x0001, 0x0002], "uint32", "big", "big") == 0x00010002
    assert decode([0x0002, 0x0001], "uint32", "big", "little") == 0x00010002


def test_wrong_register_count_and_out_of_range_are_errors() -> None:
    with pytest.raises(CodecError, match="needs 2 registers, got 1"):
        decode([1], "float32", "big", "big")
    with pytest.raises(CodecError, match="out of range for uint16"):
        encode(70000, "uint16", "big", "big")
    with pytest.raises(CodecError, match="not an integer"):
        encode(1.5, "int32", "big", "big")


def test_scale_offset_and_write_limits() -> None:
    p = ModbusPoint(metric="t", address=0, type="int16", scale=0.1, offset=-40, min=-40, max=85)
    assert to_engineering(p, 650) == pytest.approx(25.0)
    assert from_engineering(p, 25.0) == [650]
    with pytest.raises(CodecError, match="above the maximum"):
        from_engineering(p, 90)
    with pytest.raises(CodecError, match="takes a number"):
        from_engineering(p, "hot")
    coil = ModbusPoint(metric="run", table="coil", address=3, type="bool", writable=True)
    assert from_engineering(coil, True) is True
    with pytest.raises(CodecError, match="true/false"):
        from_engineering(coil, 7)


def _p(metric: str, address: int, dtype: str = "uint16", table: str = "holding") -> ModbusPoint:
    return ModbusPoint(metric=metric, address=address, type=dtype, table=table)  # type: ignore[arg-type]


def test_plan_merges_neighbours_within_gap() -> None:
    points = [
        _p("a", 0, "float32"),
        _p("b", 2),
        _p("c", 10),
        _p("d", 40),
        _p("e", 5, table="input"),
    ]
    blocks = plan_reads(points, max_gap=8, max_bit_gap=0, max_registers=125, max_bits=2000)
    spans = sorted((b.table, b.start, b.count, len(b.points)) for b in blocks)
    assert spans == [("holding", 0, 11, 3), ("holding", 40, 1, 1), ("input", 5, 1, 1)]


def test_plan_respects_protocol_limits() -> None:
    regs = [_p(f"r{i}", i * 2, "float32") for i in range(200)]  # 400 registers, no gaps
    blocks = plan_reads(regs, max_gap=8, max_bit_gap=0, max_registers=125, max_bits=2000)
    assert all(b.count <= 125 for b in blocks)
    assert sum(len(b.points) for b in blocks) == 200
    assert len(blocks) == 4  # 62 float32 per request: ceil(200 / 62)
    coils = [_p(f"c{i}", i, "bool", "coil") for i in range(4500)]
    bit_blocks = plan_reads(coils, max_gap=0, max_bit_gap=16, max_registers=125, max_bits=2000)
    assert [b.count for b in bit_blocks] == [2000, 2000, 500]


def test_decode_block_isolates_each_point() -> None:
    points = [_p("a", 0, "float32"), _p("b", 2, "int16")]
    (block,) = plan_reads(points, max_gap=0, max_bit_gap=0, max_registers=125, max_bits=2000)
    values, bad = decode_block(block, [0x3F80, 0x0000, 0xFFFF])
    assert {p.metric: v for p, v in values.items()} == {"a": 1.0, "b": -1}
    assert bad == {}


def test_config_rejects_inconsistent_points() -> None:
    with pytest.raises(ValueError, match="holds a bool"):
        ModbusPoint(metric="x", table="coil", address=0, type="float32")
    with pytest.raises(ValueError, match="cannot be written"):
        ModbusPoint(metric="x", table="input", address=0, writable=True)
    with pytest.raises(ValueError, match="65536"):
        ModbusPoint(metric="x", address=65535, type="float32")
