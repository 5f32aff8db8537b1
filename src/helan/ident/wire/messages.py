"""Handle protocol messages: Envelope (20 bytes), Header (24 bytes), Body, Credential (RFC 3652 §2).

Envelope: MajorVersion(1) MinorVersion(1) Flags+SuggestedMajor(1) SuggestedMinor(1) SessionId(4)
RequestId(4) SequenceNumber(4) MessageLength(4). Header: OpCode(4) ResponseCode(4) OpFlag(4)
SiteInfoSerial(2) RecursionCount(1) Reserved(1) ExpirationTime(4) BodyLength(4).
``MessageLength`` counts header, body and credential; an unsigned message carries a
CredentialLength of zero.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field

from helan.ident.codes import PROTOCOL_MAJOR, PROTOCOL_MINOR, EnvelopeFlag, OpCode, OpFlag
from helan.ident.codes import ResponseCode as RC
from helan.ident.errors import WireError
from helan.ident.wire.buffer import Reader, blob, u32

__all__ = ["PROTOCOL_MAJOR", "PROTOCOL_MINOR", "blob"]  # re-exported for the node's fast path
from helan.ident.wire.records import value_span

ENVELOPE = struct.Struct(">BBBBIIII")
HEADER = struct.Struct(">IIIHBBII")
ENVELOPE_SIZE = ENVELOPE.size  # 20
HEADER_SIZE = HEADER.size  # 24
MAX_MESSAGE = 1 << 20  # longer than any honest message this node exchanges
MAX_UDP = 65507
_NO_CREDENTIAL = b"\x00\x00\x00\x00"
_DIGEST_SIZES = {1: 16, 2: 20, 3: 32}  # request-digest hash codes: MD5, SHA-1, SHA-256


@dataclass(frozen=True, slots=True)
class ResolutionRequest:
    handle: bytes
    indexes: tuple[int, ...] = ()
    types: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class GenericRequest:
    """A request whose body is only a handle (get-site-info and the like)."""

    handle: bytes = b""


@dataclass(frozen=True, slots=True)
class ResolutionResponse:
    handle: bytes
    values: tuple[bytes, ...]  # each an encoded handle value


@dataclass(frozen=True, slots=True)
class SiteInfoResponse:
    site: bytes  # an encoded HS_SITE


@dataclass(frozen=True, slots=True)
class ReferralResponse:
    """RC_SERVICE_REFERRAL (302) or RC_PREFIX_REFERRAL (303): ask the sites in ``values``."""

    handle: bytes
    values: tuple[bytes, ...] | None = None


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    message: bytes = b""


Body = (
    ResolutionRequest
    | GenericRequest
    | ResolutionResponse
    | SiteInfoResponse
    | ReferralResponse
    | ErrorResponse
)


@dataclass(frozen=True, slots=True)
class Message:
    opcode: int
    rc: int
    body: Body
    request_id: int = 0
    flags: int = 0
    session_id: int = 0
    sequence: int = 0
    site_serial: int = 0
    recursion: int = 0
    expiration: int = 0
    major: int = PROTOCOL_MAJOR
    minor: int = PROTOCOL_MINOR
    env_flags: int = 0
    request_digest: bytes = field(default=b"", compare=False)

    @property
    def is_request(self) -> bool:
        return self.rc == RC.RESERVED


def _encode_body(body: Body) -> bytes:
    if isinstance(body, ResolutionRequest):
        parts = [blob(body.handle), u32(len(body.indexes))]
        parts += [u32(i) for i in body.indexes]
        parts.append(u32(len(body.types)))
        parts += [blob(t) for t in body.types]
        return b"".join(parts)
    if isinstance(body, GenericRequest):
        return blob(body.handle)
    if isinstance(body, ResolutionResponse):
        return blob(body.handle) + u32(len(body.values)) + b"".join(body.values)
    if isinstance(body, SiteInfoResponse):
        return body.site
    if isinstance(body, ReferralResponse):
        if body.values is None:
            return blob(body.handle)
        return blob(body.handle) + u32(len(body.values)) + b"".join(body.values)
    return blob(body.message)


def encode(msg: Message) -> bytes:
    body = _encode_body(msg.body)
    flags = msg.flags
    if msg.request_digest:
        body = bytes([3]) + msg.request_digest + body
        flags |= OpFlag.RRDG
    else:
        flags &= ~OpFlag.RRDG
    header = HEADER.pack(
        msg.opcode,
        msg.rc,
        flags & 0xFFFFFFFF,
        msg.site_serial & 0xFFFF,
        min(msg.recursion, 255),
        0,
        msg.expiration & 0xFFFFFFFF,
        len(body),
    )
    envelope = ENVELOPE.pack(
        msg.major,
        msg.minor,
        (msg.env_flags & 0xE0) | (PROTOCOL_MAJOR & 0x03),
        PROTOCOL_MINOR,
        msg.session_id & 0xFFFFFFFF,
        msg.request_id & 0xFFFFFFFF,
        msg.sequence & 0xFFFFFFFF,
        HEADER_SIZE + len(body) + 4,
    )
    return b"".join((envelope, header, body, _NO_CREDENTIAL))


def message_length(envelope: bytes) -> int:
    """The MessageLength field of a 20-byte envelope (TCP framing), range-checked."""
    length = int(ENVELOPE.unpack_from(envelope)[7])
    if length < HEADER_SIZE or length > MAX_MESSAGE:
        raise WireError(f"message length {length} is outside {HEADER_SIZE}..{MAX_MESSAGE}")
    return length


def request_digest(data: bytes) -> bytes:
    """SHA-256 of a request's header and body, as returned under RRDG."""
    body_len = int(HEADER.unpack_from(data, ENVELOPE_SIZE)[7])
    return hashlib.sha256(data[ENVELOPE_SIZE : ENVELOPE_SIZE + HEADER_SIZE + body_len]).digest()


def peek_ids(data: bytes) -> tuple[int, int] | None:
    """(request id, opcode) of a message too broken to decode, to address an error reply."""
    if len(data) < ENVELOPE_SIZE + 4:
        return None
    return int(ENVELOPE.unpack_from(data)[5]), int(struct.unpack_from(">I", data, ENVELOPE_SIZE)[0])


def _read_values(reader: Reader) -> tuple[bytes, ...]:
    out = []
    for _ in range(reader.count("value", 23)):
        span = value_span(reader.buf, reader.pos, reader.end)
        out.append(reader.raw(span, "value"))
    return tuple(out)


def _decode_request(opcode: int, reader: Reader) -> Body:
    if opcode == OpCode.RESOLUTION:
        handle = reader.blob("handle", 4096)
        indexes = tuple(reader.u32("index") for _ in range(reader.count("index", 4)))
        types = tuple(reader.blob("type", 1024) for _ in range(reader.count("type", 4)))
        return ResolutionRequest(handle, indexes, types)
    if opcode == OpCode.GET_SITE_INFO:
        return GenericRequest(reader.blob("handle", 4096) if reader.remaining() else b"")
    if opcode in OpCode._value2member_map_:
        raise WireError(
            f"operation {OpCode(opcode).name} ({opcode}) is not supported",
            RC.OPERATION_NOT_SUPPORTED,
        )
    raise WireError(f"unknown operation code {opcode}", RC.OPERATION_NOT_SUPPORTED)


def _decode_response(opcode: int, rc: int, reader: Reader) -> Body:
    if rc == RC.SUCCESS and opcode == OpCode.RESOLUTION:
        return ResolutionResponse(reader.blob("handle", 4096), _read_values(reader))
    if rc == RC.SUCCESS and opcode == OpCode.GET_SITE_INFO:
        return SiteInfoResponse(reader.raw(reader.remaining(), "site info"))
    if rc in (RC.SERVICE_REFERRAL, RC.PREFIX_REFERRAL):
        handle = reader.blob("referral handle", 4096)
        return ReferralResponse(handle, _read_values(reader) if reader.remaining() else None)
    if rc == RC.SUCCESS:
        raise WireError(f"response to unsupported operation {opcode}", RC.OPERATION_NOT_SUPPORTED)
    if rc not in RC._value2member_map_:
        raise WireError(f"unknown response code {rc}")
    return ErrorResponse(reader.blob("error message", 65536) if reader.remaining() else b"")


def decode(data: bytes) -> Message:
    """Decode one complete message (one UDP datagram, or one TCP frame with its envelope)."""
    if len(data) < ENVELOPE_SIZE + HEADER_SIZE:
        raise WireError(f"message of {len(data)} bytes is shorter than envelope and header (44)")
    major, minor, eflags, _smin, session, request_id, sequence, length = ENVELOPE.unpack_from(data)
    if length != len(data) - ENVELOPE_SIZE:
        raise WireError(f"envelope says {length} bytes follow, {len(data) - ENVELOPE_SIZE} do")
    if eflags & (EnvelopeFlag.COMPRESSED | EnvelopeFlag.ENCRYPTED):
        raise WireError(
            "compressed or encrypted messages are not supported", RC.OPERATION_NOT_SUPPORTED
        )
    if eflags & EnvelopeFlag.TRUNCATED:
        raise WireError(
            "multi-packet (truncated) messages are not supported; use TCP",
            RC.OPERATION_NOT_SUPPORTED,
        )
    opcode, rc, flags, serial, recursion, _res, expiration, body_len = HEADER.unpack_from(
        data, ENVELOPE_SIZE
    )
    body_start = ENVELOPE_SIZE + HEADER_SIZE
    if body_len > len(data) - body_start:
        raise WireError(
            f"header says the body is {body_len} bytes, {len(data) - body_start} remain"
        )
    reader = Reader(data, body_start, body_start + body_len)
    digest = b""
    if rc != RC.RESERVED and flags & OpFlag.RRDG:
        kind = reader.u8("request digest type")
        if kind not in _DIGEST_SIZES:
            raise WireError(f"unknown request digest type {kind}")
        digest = reader.raw(_DIGEST_SIZES[kind], "request digest")
    body = (
        _decode_request(opcode, reader)
        if rc == RC.RESERVED
        else _decode_response(opcode, rc, reader)
    )
    reader.done("message body")
    tail = Reader(data, body_start + body_len)
    if tail.remaining():
        tail.raw(tail.u32("credential length"), "credential")
        tail.done("credential")
    return Message(
        opcode=opcode,
        rc=rc,
        body=body,
        request_id=request_id,
        flags=flags,
        session_id=session,
        sequence=sequence,
        site_serial=serial,
        recursion=recursion,
        expiration=expiration,
        major=major,
        minor=minor,
        env_flags=eflags & 0xE0,
        request_digest=digest,
    )
