"""Modbus/TCP application data units read from a byte stream, by hand.

Parsed here rather than through pymodbus' framer because the detector must see what the wire
carries, malformed frames included, without a decoder that answers, retries or drops: the
MBAP header is seven fixed bytes (transaction, protocol, length, unit) and the few request
fields the allow-list needs (function code, first address, count) sit at fixed offsets.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

MBAP_LEN = 7
MAX_ADU = 260  # MBAP (7) + PDU (253)

# Function codes that change the PLC's state.
WRITES = frozenset({5, 6, 15, 16, 21, 22, 23})
# Diagnostics and identification: read nothing of the process, map the device (a scan's tools).
DIAGNOSTICS = frozenset({7, 8, 11, 12, 17, 43})
# Every function code of the public specification; anything else is vendor programming
# (Schneider UMAS 90, ...) or garbage.
PUBLIC = frozenset({1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 15, 16, 17, 20, 21, 22, 23, 24, 43})


class MalformedFrame(ValueError):
    """Bytes that are not a Modbus/TCP frame (bad protocol id or length)."""


@dataclass(frozen=True, slots=True)
class Adu:
    """One Modbus/TCP frame. ``address``/``count``: the register or coil range a request
    names (``None`` for function codes without one); ``exception``: a response's exception
    code (``None`` for a normal reply or any request)."""

    transaction: int
    unit: int
    function: int
    address: int | None
    count: int | None
    exception: int | None

    @property
    def write(self) -> bool:
        return self.function in WRITES


def split_adus(buffer: bytes, *, request: bool) -> tuple[list[Adu], bytes]:
    """The complete frames at the start of ``buffer`` and the unconsumed rest (a frame split
    across TCP segments waits for its next part). Raises MalformedFrame on a header no
    Modbus/TCP peer sends: the stream cannot be resynchronised after it."""
    adus: list[Adu] = []
    at = 0
    while len(buffer) - at >= MBAP_LEN:
        transaction, protocol, length = struct.unpack_from(">HHH", buffer, at)
        if protocol != 0 or not 2 <= length <= MAX_ADU - 6:
            raise MalformedFrame(f"MBAP protocol {protocol}, length {length}")
        end = at + 6 + length
        if end > len(buffer):
            break
        adus.append(_adu(transaction, buffer[at + 6], buffer[at + 7 : end], request=request))
        at = end
    return adus, buffer[at:]


def _adu(transaction: int, unit: int, pdu: bytes, *, request: bool) -> Adu:
    function = pdu[0]
    if not request:
        exception = pdu[1] if function & 0x80 and len(pdu) > 1 else None
        return Adu(transaction, unit, function & 0x7F, None, None, exception)
    address = count = None
    if function in (1, 2, 3, 4, 15, 16, 23) and len(pdu) >= 5:
        address, count = struct.unpack_from(">HH", pdu, 1)
        if function == 23 and len(pdu) >= 9:  # read/write: the written range is the risk
            address, count = struct.unpack_from(">HH", pdu, 5)
    elif function in (5, 6, 22) and len(pdu) >= 3:
        address, count = struct.unpack_from(">H", pdu, 1)[0], 1
    return Adu(transaction, unit, function, address, count, None)
