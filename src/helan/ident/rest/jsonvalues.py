"""Handle values as Handle.Net's REST API writes them in JSON, both ways.

``data`` is ``{"format": F, "value": V}`` with F one of ``string``, ``base64``, ``hex``,
``admin`` (HS_ADMIN: handle, index, permissions as 12 binary digits, most significant first)
or ``site`` (HS_SITE as an object). A bare string is taken as ``string``.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import struct
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

from helan.ident.codes import AdminPermission, ResponseCode, ValuePermission
from helan.ident.errors import HandleError
from helan.ident.model import (
    DEFAULT_PERMISSIONS,
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
from helan.ident.wire.records import decode_admin, decode_site, encode_admin, encode_site


def _bad(message: str) -> HandleError:
    return HandleError(ResponseCode.INVALID_VALUE, message)


def site_to_json(site: SiteInfo) -> dict[str, Any]:
    return {
        "version": site.data_format_version,
        "protocolVersion": f"{site.protocol_major}.{site.protocol_minor}",
        "serialNumber": site.serial,
        "primaryMask": {"multiPrimary": site.multi_primary, "primary": site.primary},
        "hashOption": site.hash_option,
        "hashFilter": base64.b64encode(site.hash_filter).decode(),
        "attributes": [{"name": n, "value": v} for n, v in site.attributes],
        "servers": [
            {
                "serverId": s.server_id,
                "address": str(s.address),
                "publicKey": {"format": "base64", "value": base64.b64encode(s.public_key).decode()},
                "interfaces": [
                    {
                        "query": i.type in (InterfaceType.QUERY, InterfaceType.ADMIN_AND_QUERY),
                        "admin": i.type in (InterfaceType.ADMIN, InterfaceType.ADMIN_AND_QUERY),
                        "protocol": i.protocol.name,
                        "port": i.port,
                    }
                    for i in s.interfaces
                ],
            }
            for s in site.servers
        ],
    }


def site_from_json(obj: dict[str, Any]) -> SiteInfo:
    try:
        servers = []
        for s in obj["servers"]:
            interfaces = []
            for i in s["interfaces"]:
                kind = InterfaceType(int(bool(i.get("admin"))) | (2 if i.get("query", True) else 0))
                interfaces.append(
                    Interface(kind, Transport[str(i["protocol"]).upper()], int(i["port"]))
                )
            key = s.get("publicKey") or {}
            servers.append(
                ServerInfo(
                    int(s.get("serverId", 1)),
                    ipaddress.ip_address(s["address"]),
                    tuple(interfaces),
                    base64.b64decode(key.get("value", "")),
                )
            )
        major, _, minor = str(obj.get("protocolVersion", "2.10")).partition(".")
        mask = obj.get("primaryMask") or {}
        return SiteInfo(
            servers=tuple(servers),
            serial=int(obj.get("serialNumber", 1)),
            primary=bool(mask.get("primary", True)),
            multi_primary=bool(mask.get("multiPrimary", False)),
            hash_option=int(obj.get("hashOption", 0)),
            hash_filter=base64.b64decode(obj.get("hashFilter", "")),
            attributes=tuple((a["name"], a["value"]) for a in obj.get("attributes", [])),
            data_format_version=int(obj.get("version", 1)),
            protocol_major=int(major),
            protocol_minor=int(minor or 0),
        )
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise _bad(f"site value is malformed: {exc!r}") from None


def _data_to_json(value: HandleValue) -> dict[str, Any]:
    if value.type == "HS_ADMIN":
        admin = decode_admin(value.data)
        return {
            "format": "admin",
            "value": {
                "handle": admin.handle,
                "index": admin.index,
                "permissions": format(int(admin.permissions), "012b"),
            },
        }
    if value.type == "HS_SITE":
        return {"format": "site", "value": site_to_json(decode_site(value.data))}
    try:
        return {"format": "string", "value": value.data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"format": "base64", "value": base64.b64encode(value.data).decode()}


@lru_cache(maxsize=4096)
def _iso(stamp: int) -> str:
    """Records written together share timestamps: format each second once."""
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def value_to_json(value: HandleValue) -> dict[str, Any]:
    out: dict[str, Any] = {
        "index": value.index,
        "type": value.type,
        "data": _data_to_json(value),
        "ttl": value.ttl,
        "timestamp": _iso(value.timestamp),
    }
    if value.references:
        out["references"] = [{"handle": r.handle, "index": r.index} for r in value.references]
    return out


_STORED_HEAD = struct.Struct(">IIBiBI")  # index, timestamp, ttl type, ttl, permissions, type size
_U32 = struct.Struct(">I")
_PUBLIC_READ = int(ValuePermission.PUBLIC_READ)
_STRUCTURED = (b"HS_ADMIN", b"HS_SITE")


def plain_record_json(raw: bytes) -> bytes | None:
    """The REST body of an unfiltered ``GET`` straight from a stored record (the layout of
    ``records.encode_record``), the same bytes as ``value_to_json`` over the decoded values;
    None for any record this flat pass does not handle (HS_ADMIN or HS_SITE values, references,
    data that is not UTF-8, a damaged record): the caller then takes the general path."""
    try:
        pos = 4 + _U32.unpack_from(raw)[0]
        name = raw[4:pos].decode("utf-8")
        (count,) = _U32.unpack_from(raw, pos)
        pos += 4
        shown = []
        for _ in range(count):
            index, stamp, ttl_type, ttl, perms, size = _STORED_HEAD.unpack_from(raw, pos)
            pos += 18
            vtype = raw[pos : pos + size]
            pos += size
            (size,) = _U32.unpack_from(raw, pos)
            data = raw[pos + 4 : pos + 4 + size]
            pos += 4 + size
            if raw[pos : pos + 4] != b"\x00\x00\x00\x00" or vtype in _STRUCTURED or ttl_type > 1:
                return None
            pos += 4
            if perms & _PUBLIC_READ:
                shown.append(
                    {
                        "index": index,
                        "type": vtype.decode("utf-8"),
                        "data": {"format": "string", "value": data.decode("utf-8")},
                        "ttl": ttl,
                        "timestamp": _iso(stamp),
                    }
                )
    except (struct.error, UnicodeDecodeError):
        return None
    if pos != len(raw):
        return None
    return orjson.dumps({"responseCode": 1, "handle": name, "values": shown})


def _data_from_json(vtype: str, data: Any) -> bytes:
    if isinstance(data, str):
        return data.encode("utf-8")
    if not isinstance(data, dict) or "value" not in data:
        raise _bad(f"{vtype}: data must be a string or {{'format': ..., 'value': ...}}")
    fmt, raw = data.get("format", "string"), data["value"]
    try:
        if fmt == "string":
            return str(raw).encode("utf-8")
        if fmt == "base64":
            return base64.b64decode(str(raw), validate=True)
        if fmt == "hex":
            return bytes.fromhex(str(raw))
        if fmt == "admin":
            perms = str(raw.get("permissions", "111111111111"))
            if len(perms) > 12 or set(perms) - {"0", "1"}:
                raise _bad(f"admin permissions {perms!r} must be up to 12 binary digits")
            record = AdminRecord(
                str(raw["handle"]), int(raw["index"]), AdminPermission(int(perms.ljust(12, "0"), 2))
            )
            return encode_admin(record)
        if fmt == "site":
            return encode_site(site_from_json(raw))
    except (KeyError, TypeError, ValueError, AttributeError, binascii.Error) as exc:
        raise _bad(f"{vtype}: {fmt} data is malformed: {exc!r}") from None
    raise _bad(f"{vtype}: unknown data format {fmt!r}")


def value_from_json(obj: Any) -> HandleValue:
    if not isinstance(obj, dict):
        raise _bad("each value must be an object")
    try:
        index = int(obj["index"])
        vtype = str(obj["type"])
    except (KeyError, TypeError, ValueError):
        raise _bad("each value needs an integer 'index' and a 'type'") from None
    ttl = obj.get("ttl", 86400)
    if not isinstance(ttl, int) or isinstance(ttl, bool):
        raise _bad(f"value {index}: ttl must be an integer")
    perms = DEFAULT_PERMISSIONS
    if "permissions" in obj:
        bits = str(obj["permissions"])
        if len(bits) != 4 or set(bits) - {"0", "1"}:
            raise _bad(f"value {index}: permissions {bits!r} must be 4 binary digits (rw rw)")
        perms = ValuePermission(int(bits, 2))
    refs = tuple(
        ValueReference(str(r["handle"]), int(r["index"])) for r in obj.get("references", [])
    )
    return HandleValue(
        index=index,
        type=vtype,
        data=_data_from_json(vtype, obj.get("data", "")),
        ttl=ttl,
        ttl_type=TtlType.RELATIVE,
        permissions=perms,
        references=refs,
    )
