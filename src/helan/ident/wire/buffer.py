"""Bounds-checked reading of Handle-protocol primitives: every length is checked before use."""

from __future__ import annotations

import struct

from helan.ident.errors import WireError

MAX_ARRAY = 1 << 20  # more items than this in one list is a lie, not a message

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_I32 = struct.Struct(">i")


class Reader:
    """Reads ``buf[pos:end]``; running past ``end`` raises :class:`WireError`, never IndexError."""

    __slots__ = ("buf", "end", "pos")

    def __init__(self, buf: bytes, pos: int = 0, end: int | None = None) -> None:
        self.buf = buf
        self.pos = pos
        self.end = len(buf) if end is None else end

    def _need(self, n: int, what: str) -> int:
        at = self.pos
        if n < 0 or at + n > self.end:
            raise WireError(
                f"truncated: {what} needs {n} bytes at offset {at}, {self.end - at} left"
            )
        self.pos = at + n
        return at

    def u8(self, what: str = "byte") -> int:
        return self.buf[self._need(1, what)]

    def u16(self, what: str = "int2") -> int:
        return int(_U16.unpack_from(self.buf, self._need(2, what))[0])

    def u32(self, what: str = "int4") -> int:
        return int(_U32.unpack_from(self.buf, self._need(4, what))[0])

    def i32(self, what: str = "int4") -> int:
        return int(_I32.unpack_from(self.buf, self._need(4, what))[0])

    def raw(self, n: int, what: str = "bytes") -> bytes:
        at = self._need(n, what)
        return bytes(self.buf[at : at + n])

    def blob(self, what: str = "byte array", limit: int = MAX_ARRAY) -> bytes:
        """A 4-byte length, then that many bytes."""
        n = self.u32(f"{what} length")
        if n > limit:
            raise WireError(f"{what} length {n} exceeds the limit {limit}")
        return self.raw(n, what)

    def text(self, what: str = "string", limit: int = MAX_ARRAY) -> str:
        data = self.blob(what, limit)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise WireError(f"{what} is not valid UTF-8") from None

    def count(self, what: str, item_min_bytes: int) -> int:
        """A 4-byte item count, checked against the bytes left, so a lying count fails early."""
        n = self.u32(f"{what} count")
        if n > MAX_ARRAY or n * item_min_bytes > self.end - self.pos:
            raise WireError(
                f"{what} count {n} does not fit in the {self.end - self.pos} bytes left"
            )
        return n

    def remaining(self) -> int:
        return self.end - self.pos

    def done(self, what: str) -> None:
        if self.pos != self.end:
            raise WireError(f"{self.end - self.pos} unexpected bytes after {what}")


def blob(data: bytes) -> bytes:
    return _U32.pack(len(data)) + data


def u16(value: int) -> bytes:
    return _U16.pack(value)


def u32(value: int) -> bytes:
    return _U32.pack(value & 0xFFFFFFFF)


def i32(value: int) -> bytes:
    return _I32.pack(value)
