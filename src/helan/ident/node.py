"""What a node answers: its own records, a referral down the prefix tree, or an error.

A node *homes* prefixes (it is authoritative for handles under them) and may hold ``0.NA/<p>``
records with ``HS_SITE`` values that delegate prefix ``p`` elsewhere. The root homes ``0.NA``,
so it is authoritative for every prefix record it has not delegated.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from helan.ident.codes import OpCode, OpFlag, ResponseCode, ValuePermission
from helan.ident.errors import HandleError, WireError
from helan.ident.model import NA_PREFIX, Handle, SiteInfo, handle_key, prefix_handle
from helan.ident.store.base import HandleStore
from helan.ident.wire import messages as m
from helan.ident.wire.answers import (
    ENVELOPE_HEAD,
    AnswerCache,
    expiry,
    plain_request,
    question_key,
    with_envelope,
)
from helan.ident.wire.records import encode_site, split_record

_TYPE_AT = 14  # offset of the type field inside an encoded value
_PUBLIC_READ = int(ValuePermission.PUBLIC_READ)
_ECHO = int(OpFlag.CERT | OpFlag.PUBL | OpFlag.KPAL)
_UNFILTERED = bytes(8)  # empty index list, empty type list
_NO_CREDENTIAL = bytes(4)
# A success header: opcode and response code, then (packed per answer) echoed op flags, site-info
# serial, recursion count and reserved byte as zeros, expiration, body length.
_SUCCESS_OPCODE_RC = m.HEADER.pack(OpCode.RESOLUTION, ResponseCode.SUCCESS, 0, 0, 0, 0, 0, 0)[:8]
_SUCCESS_REST = struct.Struct(">I4xII")
_SUCCESS_FRAME = m.HEADER_SIZE + 4  # what a success reply adds to the record: header, credential
_CACHEABLE = {
    int(rc).to_bytes(4, "big")
    for rc in (ResponseCode.SUCCESS, ResponseCode.HANDLE_NOT_FOUND, ResponseCode.VALUES_NOT_FOUND)
}


class Role(StrEnum):
    ROOT = "root"
    SECONDARY = "secondary"
    ENTERPRISE = "enterprise"
    RESOLVER = "resolver"


@dataclass(frozen=True, slots=True)
class Answer:
    rc: ResponseCode
    body: m.Body


def _value_type(value: bytes) -> bytes:
    n = int.from_bytes(value[_TYPE_AT : _TYPE_AT + 4], "big")
    return value[_TYPE_AT + 4 : _TYPE_AT + 4 + n]


def _value_data(value: bytes) -> bytes:
    at = _TYPE_AT + 4 + int.from_bytes(value[_TYPE_AT : _TYPE_AT + 4], "big")
    return value[at + 4 : at + 4 + int.from_bytes(value[at : at + 4], "big")]


def _value_index(value: bytes) -> int:
    return int.from_bytes(value[:4], "big")


def type_matches(vtype: bytes, wanted: tuple[bytes, ...]) -> bool:
    """A value matches a type filter exactly or as a sub-type (``URL`` matches ``URL.mirror``)."""
    upper = vtype.upper()
    return any(upper == w.upper() or upper.startswith(w.upper() + b".") for w in wanted)


def select_values(
    values: Iterable[bytes], indexes: tuple[int, ...], types: tuple[bytes, ...]
) -> list[bytes]:
    """Public values that pass the index and type filters (a value passes either filter)."""
    out = []
    for value in values:
        if not value[13] & _PUBLIC_READ:
            continue
        if (indexes or types) and not (
            (indexes and _value_index(value) in indexes)
            or (types and type_matches(_value_type(value), types))
        ):
            continue
        out.append(value)
    return out


_DELEGATION_TYPES = (b"HS_SITE", b"HS_PUBKEY", b"HS_SIGNATURE")


def service_handles(raw_record: bytes) -> tuple[bytes, ...]:
    """The handles named by a record's ``HS_SERV`` values: a delegation that says "the sites of
    this prefix are the ``HS_SITE`` values of that service handle" (RFC 3651 section 3.3)."""
    _, values = split_record(raw_record)
    out = []
    for value in values:
        if _value_type(value).upper() == b"HS_SERV":
            out.append(_value_data(value))
    return tuple(out)


def site_values(raw_record: bytes) -> tuple[bytes, ...]:
    """What a referral carries: the delegation's HS_SITE values, with the child's HS_PUBKEY and
    the parent's HS_SIGNATURE over them so that a resolver can verify the hop (none if the
    record has no HS_SITE)."""
    _, values = split_record(raw_record)
    kept = tuple(v for v in values if _value_type(v).upper() in _DELEGATION_TYPES)
    return kept if any(_value_type(v).upper() == b"HS_SITE" for v in kept) else ()


class Node:
    """Answers resolution and get-site-info requests from a store (no sockets here)."""

    def __init__(
        self,
        store: HandleStore,
        *,
        role: Role,
        homed: Iterable[str],
        site: SiteInfo | None = None,
        udp_reply_limit: int = 1472,
    ) -> None:
        self.store = store
        self.role = role
        self.homed = {p.upper() for p in homed}
        if role is Role.ROOT:
            self.homed.add(NA_PREFIX.upper())
        self.site = site
        self.udp_reply_limit = udp_reply_limit
        self.answers = AnswerCache()
        self._get_public = store.get_public  # bound once: the per-request path

    def lookup(self, handle: Handle, indexes: tuple[int, ...], types: tuple[bytes, ...]) -> Answer:
        raw = self.store.get(handle.key)
        if raw is not None:
            stored_handle, values = split_record(raw)
            chosen = select_values(values, indexes, types)
            if not chosen and (indexes or types):
                return Answer(ResponseCode.VALUES_NOT_FOUND, m.ErrorResponse(b"no values match"))
            return Answer(ResponseCode.SUCCESS, m.ResolutionResponse(stored_handle, tuple(chosen)))
        return self._not_here(handle)

    def _not_here(self, handle: Handle) -> Answer:
        for prefix in handle.prefix_chain():
            if prefix.upper() in self.homed:
                break
            delegation = self.store.get(handle_key(prefix_handle(prefix)))
            if delegation is None:
                continue
            if sites := site_values(delegation):
                ref = prefix_handle(prefix).encode()
                return Answer(ResponseCode.PREFIX_REFERRAL, m.ReferralResponse(ref, sites))
            if services := service_handles(delegation):
                return self._service_referral(services[0])
        else:
            if not (handle.is_prefix_record and NA_PREFIX.upper() in self.homed):
                msg = f"this node is not responsible for prefix {handle.prefix_chain()[0]}"
                return Answer(ResponseCode.SERVER_NOT_RESP, m.ErrorResponse(msg.encode()))
        return Answer(
            ResponseCode.HANDLE_NOT_FOUND, m.ErrorResponse(f"{handle} not found".encode())
        )

    def _service_referral(self, service: bytes) -> Answer:
        """RC_SERVICE_REFERRAL to ``service``, with its sites when this node holds its record
        (the client then needs no extra round trip), else without (the client resolves it)."""
        held = self.store.get(service.upper())  # checked as a handle when it was stored
        sites = site_values(held) if held is not None else ()
        return Answer(ResponseCode.SERVICE_REFERRAL, m.ReferralResponse(service, sites or None))

    def answer_request(self, request: m.Message) -> Answer:
        body = request.body
        if isinstance(body, m.ResolutionRequest):
            return self.lookup(Handle.parse(body.handle), body.indexes, body.types)
        if isinstance(body, m.GenericRequest) and request.opcode == OpCode.GET_SITE_INFO:
            if self.site is None:
                raise HandleError(
                    ResponseCode.OPERATION_NOT_SUPPORTED, "this node has no site info"
                )
            return Answer(ResponseCode.SUCCESS, m.SiteInfoResponse(encode_site(self.site)))
        raise HandleError(ResponseCode.OPERATION_NOT_SUPPORTED, f"operation {request.opcode}")

    def _fast(self, data: bytes, handle_key: bytes, flags: int) -> bytes | None:
        """The whole reply to an unfiltered resolution of an existing, all-public record, built
        without message objects; None sends the request on to the answer cache and the general
        path. A stored key was a valid handle when registered, so a hit needs no syntax check.
        It runs before the cache: a store read costs about what a cache lookup does, and caching
        answers to a random stream of existing handles would only churn the cache."""
        raw = self._get_public(handle_key)
        if raw is None:
            return None
        size = len(raw)
        return b"".join(
            (
                ENVELOPE_HEAD,
                data[4:16],
                (size + _SUCCESS_FRAME).to_bytes(4, "big"),
                _SUCCESS_OPCODE_RC,
                _SUCCESS_REST.pack(flags & _ECHO, expiry(), size),
                raw,
                _NO_CREDENTIAL,
            )
        )

    def respond(self, data: bytes) -> bytes:
        """Decode, answer and encode one request; every failure becomes a protocol error reply.

        Unfiltered resolutions of public records are answered straight from the store; other
        plain resolution requests from ``answers`` (keyed by handle and filter, dropped on every
        write of the handle) when they can be; misses fill it.
        """
        plain = plain_request(data)
        if plain is None:
            return self._respond(data)
        handle_end, body_end, flags = plain
        if body_end == handle_end + 8 and data[handle_end:body_end] == _UNFILTERED:
            out = self._fast(data, data[48:handle_end].upper(), flags)
            if out is not None:
                return out
        key = question_key(data, handle_end, body_end, flags)
        tail = self.answers.get(key)
        if tail is not None:
            return with_envelope(data, tail)
        out = self._respond(data)
        if out[24:28] in _CACHEABLE:
            self.answers.put(key, out[m.ENVELOPE_SIZE :])
        return out

    def _respond(self, data: bytes) -> bytes:
        try:
            request = m.decode(data)
        except WireError as exc:
            return error_reply(data, exc.rc, exc.message)
        if not request.is_request:
            return error_reply(data, ResponseCode.PROTOCOL_ERROR, "expected a request")
        try:
            answer = self.answer_request(request)
        except HandleError as exc:
            return reply(request, exc.rc, m.ErrorResponse(exc.message.encode()), data)
        return reply(request, answer.rc, answer.body, data)


def reply(
    request: m.Message, rc: ResponseCode, body: m.Body, raw_request: bytes, extra_flags: int = 0
) -> bytes:
    digest = m.request_digest(raw_request) if request.flags & OpFlag.RRDG else b""
    return m.encode(
        m.Message(
            opcode=request.opcode,
            rc=rc,
            body=body,
            request_id=request.request_id,
            session_id=request.session_id,
            flags=(request.flags & _ECHO) | extra_flags,
            expiration=expiry(),
            request_digest=digest,
        )
    )


def error_reply(data: bytes, rc: ResponseCode, message: str) -> bytes:
    ids = m.peek_ids(data)
    request_id, opcode = ids if ids else (0, OpCode.RESERVED)
    return m.encode(
        m.Message(
            opcode=opcode, rc=rc, body=m.ErrorResponse(message.encode()), request_id=request_id
        )
    )
