"""Handles and their values (RFC 3650/3651 with the Handle.Net errata).

A handle is ``prefix/suffix``; prefixes are dotted and hierarchical (``88`` > ``88.118`` >
``88.118.100``), and a prefix is itself described by the handle ``0.NA/<prefix>``. Handles are
compared ASCII-case-insensitively (the Handle.Net default), so the storage key is the UTF-8 form
with ASCII letters upper-cased; the spelling given at registration is kept for display.
"""

from __future__ import annotations

import ipaddress
import re
import time
from dataclasses import dataclass, field
from enum import IntEnum

from helan.ident.codes import AdminPermission, ResponseCode, ValuePermission
from helan.ident.errors import HandleError

# LMDB, the embedded store, caps keys at 511 bytes; every store takes the same limit so that a
# handle valid on one node is valid on all (the Handle protocol itself allows longer ones).
MAX_HANDLE_BYTES = 511
MAX_VALUE_DATA_BYTES = 1 << 20
NA_PREFIX = "0.NA"

_PREFIX_RE = re.compile(r"[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*\Z")
# Control characters, dot look-alikes (full-width, ideographic, halfwidth, one-dot leader, small
# full stop) and the backslash: each either hides a separator or splits paths on some system.
_FORBIDDEN_RE = re.compile("[\x00-\x1f\x7f\u2024\u3002\ufe52\uff0e\uff61\\\\]")
_PERCENT_RE = re.compile(r"%[0-9A-Fa-f]{2}")


def _invalid(message: str) -> HandleError:
    return HandleError(ResponseCode.INVALID_HANDLE, message)


def _describe(ch: str) -> str:
    return f"U+{ord(ch):04X}"


@dataclass(frozen=True, slots=True)
class Handle:
    """A validated handle; build one with :meth:`parse`."""

    prefix: str
    suffix: str

    @classmethod
    def parse(cls, raw: str | bytes) -> Handle:
        """Validate ``raw`` or raise :class:`HandleError` with ``INVALID_HANDLE`` and the reason."""
        if isinstance(raw, bytes):
            if len(raw) > MAX_HANDLE_BYTES:
                raise _invalid(f"handle is {len(raw)} bytes; the limit is {MAX_HANDLE_BYTES}")
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _invalid(f"handle is not valid UTF-8 (byte {exc.start})") from None
        else:
            text = raw
            try:
                size = len(text.encode("utf-8"))
            except UnicodeEncodeError:
                raise _invalid("handle is not valid UTF-8 (lone surrogate)") from None
            if size > MAX_HANDLE_BYTES:
                raise _invalid(f"handle is {size} bytes; the limit is {MAX_HANDLE_BYTES}")
        if (bad := _FORBIDDEN_RE.search(text)) is not None:
            raise _invalid(f"handle contains forbidden character {_describe(bad.group())}")
        if (pct := _PERCENT_RE.search(text)) is not None:
            raise _invalid(
                f"handle contains percent-encoded sequence {pct.group()!r}; send it decoded once"
            )
        prefix, sep, suffix = text.partition("/")
        if not sep:
            raise _invalid(f"handle {text!r} has no '/' between prefix and suffix")
        validate_prefix(prefix)
        if not suffix:
            raise _invalid(f"handle {text!r} has an empty suffix")
        if "." in suffix and any(part in (".", "..") for part in suffix.split("/")):
            raise _invalid(f"suffix {suffix!r} contains a '.' or '..' path segment")
        return cls(prefix, suffix)

    def __str__(self) -> str:
        return f"{self.prefix}/{self.suffix}"

    @property
    def key(self) -> bytes:
        return handle_key(str(self))

    @property
    def is_prefix_record(self) -> bool:
        """True for ``0.NA/<prefix>``, the record that describes a prefix."""
        return self.prefix.upper() == NA_PREFIX.upper()

    def prefix_chain(self) -> list[str]:
        """The handle's prefix and its ancestors, longest first: ``88.1.2`` > ``88.1`` > ``88``."""
        name = self.suffix if self.is_prefix_record else self.prefix
        parts = name.split(".")
        return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]


def handle_key(text: str) -> bytes:
    """Lookup key: UTF-8, ASCII letters upper-cased (``bytes.upper`` leaves non-ASCII alone)."""
    return text.encode("utf-8").upper()


def prefix_handle(prefix: str) -> str:
    return f"{NA_PREFIX}/{prefix}"


def validate_prefix(prefix: str) -> str:
    if not _PREFIX_RE.match(prefix):
        raise _invalid(f"prefix {prefix!r} must be dot-separated [A-Za-z0-9_-] segments")
    return prefix


class TtlType(IntEnum):
    RELATIVE = 0
    ABSOLUTE = 1


DEFAULT_PERMISSIONS = (
    ValuePermission.ADMIN_READ | ValuePermission.ADMIN_WRITE | ValuePermission.PUBLIC_READ
)


@dataclass(frozen=True, slots=True)
class ValueReference:
    handle: str
    index: int


@dataclass(frozen=True, slots=True)
class HandleValue:
    """One typed value of a handle record (RFC 3651 §3.1)."""

    index: int
    type: str
    data: bytes
    ttl: int = 86400
    ttl_type: TtlType = TtlType.RELATIVE
    timestamp: int = field(default_factory=lambda: int(time.time()))
    permissions: ValuePermission = DEFAULT_PERMISSIONS
    references: tuple[ValueReference, ...] = ()

    @property
    def public_read(self) -> bool:
        return bool(self.permissions & ValuePermission.PUBLIC_READ)


@dataclass(frozen=True, slots=True)
class AdminRecord:
    """The data of an ``HS_ADMIN`` value: who administers the handle, with which rights."""

    handle: str
    index: int
    permissions: AdminPermission


class InterfaceType(IntEnum):
    OUT_OF_SERVICE = 0
    ADMIN = 1
    QUERY = 2
    ADMIN_AND_QUERY = 3


class Transport(IntEnum):
    UDP = 0
    TCP = 1
    HTTP = 2
    HTTPS = 3


@dataclass(frozen=True, slots=True)
class Interface:
    type: InterfaceType
    protocol: Transport
    port: int


@dataclass(frozen=True, slots=True)
class ServerInfo:
    server_id: int
    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    interfaces: tuple[Interface, ...]
    public_key: bytes = b""

    def port(self, protocol: Transport) -> int | None:
        for intf in self.interfaces:
            if intf.protocol == protocol and intf.type in (
                InterfaceType.QUERY,
                InterfaceType.ADMIN_AND_QUERY,
            ):
                return intf.port
        return None


@dataclass(frozen=True, slots=True)
class SiteInfo:
    """The data of an ``HS_SITE`` value: a service site and its servers (RFC 3651 §3.2.2)."""

    servers: tuple[ServerInfo, ...]
    serial: int = 1
    primary: bool = True
    multi_primary: bool = False
    hash_option: int = 0
    hash_filter: bytes = b""
    attributes: tuple[tuple[str, str], ...] = ()
    data_format_version: int = 1
    protocol_major: int = 2
    protocol_minor: int = 10

    @classmethod
    def single(cls, host: str, port: int, *, public_key: bytes = b"") -> SiteInfo:
        """A one-server site answering queries and admin requests on ``port`` over UDP, TCP."""
        interfaces = (
            Interface(InterfaceType.ADMIN_AND_QUERY, Transport.UDP, port),
            Interface(InterfaceType.ADMIN_AND_QUERY, Transport.TCP, port),
        )
        server = ServerInfo(1, ipaddress.ip_address(host), interfaces, public_key)
        return cls(servers=(server,))
