"""Numbers the Handle protocol fixes (RFC 3652 §2.2.2, as the Handle.Net 9 library spells them)."""

from __future__ import annotations

from enum import IntEnum, IntFlag


class OpCode(IntEnum):
    RESERVED = 0
    RESOLUTION = 1
    GET_SITE_INFO = 2
    CREATE_HANDLE = 100
    DELETE_HANDLE = 101
    ADD_VALUE = 102
    REMOVE_VALUE = 103
    MODIFY_VALUE = 104
    LIST_HANDLES = 105
    RESPONSE_TO_CHALLENGE = 200
    VERIFY_CHALLENGE = 201
    SESSION_SETUP = 400
    SESSION_TERMINATE = 401
    SESSION_EXCHANGEKEY = 402


class ResponseCode(IntEnum):
    RESERVED = 0  # requests carry 0
    SUCCESS = 1
    ERROR = 2
    SERVER_TOO_BUSY = 3
    PROTOCOL_ERROR = 4
    OPERATION_NOT_SUPPORTED = 5
    RECURSION_COUNT_TOO_HIGH = 6
    SERVER_BACKUP = 7
    HANDLE_NOT_FOUND = 100
    HANDLE_ALREADY_EXISTS = 101
    INVALID_HANDLE = 102
    VALUES_NOT_FOUND = 200
    VALUE_ALREADY_EXISTS = 201
    INVALID_VALUE = 202
    OUT_OF_DATE_SITE_INFO = 300
    SERVER_NOT_RESP = 301
    SERVICE_REFERRAL = 302
    PREFIX_REFERRAL = 303
    INVALID_ADMIN = 400
    INSUFFICIENT_PERMISSIONS = 401
    AUTHENTICATION_NEEDED = 402
    AUTHENTICATION_FAILED = 403
    INVALID_CREDENTIAL = 404
    AUTHEN_TIMEOUT = 405
    AUTHEN_ERROR = 406
    SESSION_TIMEOUT = 500
    SESSION_FAILED = 501


class OpFlag(IntFlag):
    """Header ``OpFlag`` bits (32-bit, most significant first)."""

    AUTH = 0x80000000  # authoritative: bypass caches
    CERT = 0x40000000  # ask the server to sign its answer
    ENCR = 0x20000000
    RECU = 0x10000000  # ask the server to resolve recursively
    CACR = 0x08000000
    CONT = 0x04000000
    KPAL = 0x02000000
    PUBL = 0x01000000  # only public values
    RRDG = 0x00800000  # answer carries a digest of the request
    OVRW = 0x00400000
    MINT = 0x00200000
    DNRF = 0x00100000  # do not refer
    # Helan, responses only: a resolver verified the answer's SM2 signatures from its trust
    # anchor down the delegation chain (like DNS's AD bit); no Handle.Net meaning, ignored there.
    AUTHENTICATED = 0x00080000


class EnvelopeFlag(IntFlag):
    """Envelope byte 2, high bits; the low two bits carry the suggested major version."""

    COMPRESSED = 0x80
    ENCRYPTED = 0x40
    TRUNCATED = 0x20


class ValuePermission(IntFlag):
    ADMIN_READ = 0x8
    ADMIN_WRITE = 0x4
    PUBLIC_READ = 0x2
    PUBLIC_WRITE = 0x1


class AdminPermission(IntFlag):
    """HS_ADMIN permission bits (2 bytes on the wire)."""

    ADD_HANDLE = 0x0001
    DELETE_HANDLE = 0x0002
    ADD_DERIVED_PREFIX = 0x0004
    DELETE_DERIVED_PREFIX = 0x0008
    MODIFY_VALUE = 0x0010
    REMOVE_VALUE = 0x0020
    ADD_VALUE = 0x0040
    MODIFY_ADMIN = 0x0080
    REMOVE_ADMIN = 0x0100
    ADD_ADMIN = 0x0200
    READ_VALUE = 0x0400
    LIST_HANDLES = 0x0800


ALL_ADMIN_PERMISSIONS = AdminPermission(0x0FFF)

# Handle.Net REST: responseCode -> HTTP status (Handle.Net 9 technical manual, REST API chapter).
HTTP_STATUS: dict[int, int] = {
    ResponseCode.SUCCESS: 200,
    ResponseCode.ERROR: 500,
    ResponseCode.SERVER_TOO_BUSY: 503,
    ResponseCode.PROTOCOL_ERROR: 400,
    ResponseCode.OPERATION_NOT_SUPPORTED: 400,
    ResponseCode.RECURSION_COUNT_TOO_HIGH: 500,
    ResponseCode.HANDLE_NOT_FOUND: 404,
    ResponseCode.HANDLE_ALREADY_EXISTS: 409,
    ResponseCode.INVALID_HANDLE: 400,
    ResponseCode.VALUES_NOT_FOUND: 200,
    ResponseCode.VALUE_ALREADY_EXISTS: 409,
    ResponseCode.INVALID_VALUE: 400,
    ResponseCode.SERVER_NOT_RESP: 404,
    ResponseCode.INVALID_ADMIN: 403,
    ResponseCode.INSUFFICIENT_PERMISSIONS: 403,
    ResponseCode.AUTHENTICATION_NEEDED: 401,
    ResponseCode.AUTHENTICATION_FAILED: 401,
    ResponseCode.INVALID_CREDENTIAL: 401,
}

DEFAULT_PORT = 2641
PROTOCOL_MAJOR = 2
PROTOCOL_MINOR = 10
