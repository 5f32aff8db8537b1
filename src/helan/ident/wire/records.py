"""Binary layouts of handle values and of the structured value types (RFC 3651 §3, RFC 3652 §3.1).

Handle value: Index(4) Timestamp(4) TTLType(1) TTL(4) Permissions(1) Type(str) Data(bytes)
References(count, each handle(str) + index(4)). HS_ADMIN: Permissions(2) AdminHandle(str)
AdminIndex(4). HS_SITE: DataFormatVersion(2) ProtocolVersion(1+1) SerialNumber(2) PrimaryMask(1)
HashOption(1) HashFilter(bytes) Attributes(count, name+value) Servers(count; ServerID(4)
Address(16) PublicKey(bytes) Interfaces(count; Type(1) Protocol(1) Port(4))).
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable, Sequence

from helan.ident.codes import AdminPermission, ResponseCode, ValuePermission
from helan.ident.errors import HandleError, WireError
from helan.ident.model import (
    AdminRecord,
    HandleValue,
    Interface,
    InterfaceType,
    ServerInfo,
    SiteInfo,
    Transport,
    TtlType,
    ValueReference,
)
from helan.ident.wire.buffer import Reader, blob, u16, u32

_VALUE_HEAD = struct.Struct(">IIBiB")  # index, timestamp, ttl type, ttl, permissions
_STORED_HEAD = struct.Struct(">IIBiBI")  # the same, then the type's length
_STORED_U32 = struct.Struct(">I")
_STORED_PERMS_TYPE = struct.Struct(">BI")  # a value's permissions, then its type's length
_TTL_TYPES = {0: TtlType.RELATIVE, 1: TtlType.ABSOLUTE}
_PERMISSIONS = [ValuePermission(i) for i in range(16)]
PRIMARY_SITE = 0x80
MULTI_PRIMARY = 0x40


def encode_value(value: HandleValue) -> bytes:
    parts = [
        _VALUE_HEAD.pack(
            value.index & 0xFFFFFFFF,
            value.timestamp & 0xFFFFFFFF,
            int(value.ttl_type),
            value.ttl,
            int(value.permissions) & 0x0F,
        ),
        blob(value.type.encode("utf-8")),
        blob(value.data),
        u32(len(value.references)),
    ]
    for ref in value.references:
        parts.append(blob(ref.handle.encode("utf-8")))
        parts.append(u32(ref.index))
    return b"".join(parts)


def read_value(reader: Reader) -> HandleValue:
    index = reader.u32("value index")
    timestamp = reader.u32("value timestamp")
    ttl_type = reader.u8("value ttl type")
    if ttl_type not in (0, 1):
        raise WireError(
            f"value {index}: TTL type {ttl_type} is neither 0 (relative) nor 1 (absolute)"
        )
    ttl = reader.i32("value ttl")
    perms = reader.u8("value permissions")
    vtype = reader.text("value type", 1024)
    data = reader.blob("value data")
    refs = tuple(
        ValueReference(reader.text("reference handle", 4096), reader.u32("reference index"))
        for _ in range(reader.count("reference", 8))
    )
    return HandleValue(
        index=index,
        type=vtype,
        data=data,
        ttl=ttl,
        ttl_type=TtlType(ttl_type),
        timestamp=timestamp,
        permissions=ValuePermission(perms & 0x0F),
        references=refs,
    )


def value_span(buf: bytes, pos: int, end: int) -> int:
    """Length of the encoded value at ``pos`` without decoding it (checked like a decode)."""
    reader = Reader(buf, pos, end)
    reader.raw(14, "value header")
    reader.raw(reader.u32("value type length"), "value type")
    reader.raw(reader.u32("value data length"), "value data")
    for _ in range(reader.count("reference", 8)):
        reader.raw(reader.u32("reference handle length"), "reference handle")
        reader.u32("reference index")
    return reader.pos - pos


def encode_values(values: Iterable[HandleValue]) -> list[bytes]:
    return [encode_value(v) for v in sorted(values, key=lambda v: v.index)]


def decode_values(encoded: Sequence[bytes]) -> list[HandleValue]:
    out = []
    for item in encoded:
        reader = Reader(item)
        out.append(read_value(reader))
        reader.done("handle value")
    return out


def encode_admin(admin: AdminRecord) -> bytes:
    return (
        u16(int(admin.permissions) & 0x0FFF) + blob(admin.handle.encode("utf-8")) + u32(admin.index)
    )


def decode_admin(data: bytes) -> AdminRecord:
    reader = Reader(data)
    try:
        perms = reader.u16("admin permissions")
        handle = reader.text("admin handle", 4096)
        index = reader.u32("admin index")
        reader.done("HS_ADMIN")
    except WireError as exc:
        raise HandleError(
            ResponseCode.INVALID_VALUE, f"malformed HS_ADMIN: {exc.message}"
        ) from None
    return AdminRecord(handle, index, AdminPermission(perms & 0x0FFF))


def _address_bytes(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bytes:
    # RFC 3651: 16 bytes; an IPv4 address sits in the last four with zeros before it.
    return address.packed.rjust(16, b"\x00")


def _address_from(raw: bytes) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    if raw[:12] == bytes(12):
        return ipaddress.IPv4Address(raw[12:])
    return ipaddress.IPv6Address(raw)


def encode_site(site: SiteInfo) -> bytes:
    parts = [
        u16(site.data_format_version),
        bytes([site.protocol_major, site.protocol_minor]),
        u16(site.serial),
        bytes(
            [
                (PRIMARY_SITE if site.primary else 0)
                | (MULTI_PRIMARY if site.multi_primary else 0),
                site.hash_option,
            ]
        ),
        blob(site.hash_filter),
        u32(len(site.attributes)),
    ]
    for name, value in site.attributes:
        parts += [blob(name.encode("utf-8")), blob(value.encode("utf-8"))]
    parts.append(u32(len(site.servers)))
    for server in site.servers:
        parts += [
            u32(server.server_id),
            _address_bytes(server.address),
            blob(server.public_key),
            u32(len(server.interfaces)),
        ]
        for intf in server.interfaces:
            parts += [bytes([int(intf.type), int(intf.protocol)]), u32(intf.port)]
    return b"".join(parts)


def decode_site(data: bytes) -> SiteInfo:
    reader = Reader(data)
    try:
        version = reader.u16("site data format version")
        major = reader.u8("site protocol major")
        minor = reader.u8("site protocol minor")
        serial = reader.u16("site serial")
        mask = reader.u8("site primary mask")
        hash_option = reader.u8("site hash option")
        hash_filter = reader.blob("site hash filter")
        attributes = tuple(
            (reader.text("attribute name"), reader.text("attribute value"))
            for _ in range(reader.count("site attribute", 8))
        )
        servers = []
        for _ in range(reader.count("site server", 28)):
            server_id = reader.u32("server id")
            address = _address_from(reader.raw(16, "server address"))
            public_key = reader.blob("server public key")
            interfaces = []
            for _ in range(reader.count("server interface", 6)):
                itype, proto, port = reader.u8(), reader.u8(), reader.u32("interface port")
                if itype > 3 or proto > 3 or port > 65535:
                    raise WireError(
                        f"interface type {itype}/protocol {proto}/port {port} is invalid"
                    )
                interfaces.append(Interface(InterfaceType(itype), Transport(proto), port))
            servers.append(ServerInfo(server_id, address, tuple(interfaces), public_key))
        reader.done("HS_SITE")
    except WireError as exc:
        raise HandleError(ResponseCode.INVALID_VALUE, f"malformed HS_SITE: {exc.message}") from None
    return SiteInfo(
        servers=tuple(servers),
        serial=serial,
        primary=bool(mask & PRIMARY_SITE),
        multi_primary=bool(mask & MULTI_PRIMARY),
        hash_option=hash_option,
        hash_filter=hash_filter,
        attributes=attributes,
        data_format_version=version,
        protocol_major=major,
        protocol_minor=minor,
    )


def encode_pubkey(key_type: str, key: bytes) -> bytes:
    """HS_PUBKEY: key type (string), 2 reserved flag bytes, then the key material as a byte array.

    RSA and DSA keys split their material into several byte arrays; Helan's SM2 keys
    (``SM2_PUB_KEY``) carry the uncompressed point as one array.
    """
    return blob(key_type.encode("utf-8")) + u16(0) + blob(key)


def decode_pubkey(data: bytes) -> tuple[str, bytes]:
    reader = Reader(data)
    try:
        key_type = reader.text("key type", 256)
        reader.u16("key flags")
        key = reader.blob("key")
        reader.done("HS_PUBKEY")
    except WireError as exc:
        raise HandleError(
            ResponseCode.INVALID_VALUE, f"malformed HS_PUBKEY: {exc.message}"
        ) from None
    return key_type, key


def encode_record(handle: str, values: Iterable[HandleValue]) -> bytes:
    """A stored record: the handle as registered, then its values in ascending index order.

    It is byte for byte the body of a resolution response, so an unfiltered answer is the
    stored record behind a header.
    """
    encoded = encode_values(values)
    return blob(handle.encode("utf-8")) + u32(len(encoded)) + b"".join(encoded)


def split_record(raw: bytes) -> tuple[bytes, list[bytes]]:
    """The handle and the encoded values of a stored record, without decoding the values."""
    reader = Reader(raw)
    handle = reader.blob("record handle", 4096)
    values = []
    for _ in range(reader.count("record value", 23)):
        values.append(reader.raw(value_span(raw, reader.pos, reader.end), "record value"))
    reader.done("record")
    return handle, values


def decode_record(raw: bytes) -> tuple[str, list[HandleValue]]:
    handle, values = split_record(raw)
    return handle.decode("utf-8"), decode_values(values)


def decode_stored(raw: bytes) -> tuple[str, list[HandleValue]]:
    """``decode_record`` for records read back from the node's own store, in one flat pass
    (three times faster); anything odd falls back to the checked decoder and its messages."""
    try:
        pos = 4 + int.from_bytes(raw[:4], "big")
        name = raw[4:pos].decode("utf-8")
        count = int.from_bytes(raw[pos : pos + 4], "big")
        pos += 4
        out = []
        for _ in range(count):
            index, stamp, ttl_type, ttl, perms, size = _STORED_HEAD.unpack_from(raw, pos)
            pos += 18
            vtype = raw[pos : pos + size].decode("utf-8")
            pos += size
            size = int.from_bytes(raw[pos : pos + 4], "big")
            data = raw[pos + 4 : pos + 4 + size]
            pos += 4 + size
            refs: tuple[ValueReference, ...] = ()
            if raw[pos : pos + 4] != b"\x00\x00\x00\x00":
                return decode_record(raw)
            pos += 4
            out.append(
                HandleValue(
                    index,
                    vtype,
                    data,
                    ttl,
                    _TTL_TYPES[ttl_type],
                    stamp,
                    _PERMISSIONS[perms & 15],
                    refs,
                )
            )
        if pos != len(raw):
            return decode_record(raw)
    except (struct.error, KeyError, UnicodeDecodeError):
        return decode_record(raw)
    return name, out


def all_public(record: bytes) -> bool:
    """Whether every value of a stored record is publicly readable (a plain walk over the
    layout of :func:`encode_record`; the record was checked when it was stored)."""
    try:
        pos = 4 + _STORED_U32.unpack_from(record)[0]
        (count,) = _STORED_U32.unpack_from(record, pos)
        pos += 4
        for _ in range(count):
            perms, type_size = _STORED_PERMS_TYPE.unpack_from(record, pos + 13)
            if not perms & 0x02:
                return False
            pos += 18 + type_size
            pos += 4 + _STORED_U32.unpack_from(record, pos)[0]  # data
            (refs,) = _STORED_U32.unpack_from(record, pos)
            pos += 4
            for _ in range(refs):
                pos += 8 + _STORED_U32.unpack_from(record, pos)[0]
    except struct.error:
        raise IndexError("stored record is truncated") from None
    if pos != len(record):
        raise IndexError("stored record has trailing bytes")
    return True
