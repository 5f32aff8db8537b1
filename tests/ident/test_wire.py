"""The wire codec, byte for byte, and a bounded fuzz of the decoder."""

from __future__ import annotations

import contextlib
import ipaddress
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helan.ident.codes import AdminPermission, OpCode, OpFlag, ResponseCode, ValuePermission
from helan.ident.errors import HandleError, WireError
from helan.ident.model import AdminRecord, HandleValue, SiteInfo, TtlType, ValueReference
from helan.ident.wire import messages as m
from helan.ident.wire.records import (
    decode_admin,
    decode_pubkey,
    decode_record,
    decode_site,
    decode_values,
    encode_admin,
    encode_pubkey,
    encode_record,
    encode_site,
    encode_value,
)


def test_resolution_request_bytes_match_rfc_3652_layout() -> None:
    msg = m.Message(
        opcode=OpCode.RESOLUTION,
        rc=ResponseCode.RESERVED,
        body=m.ResolutionRequest(b"88.1/x", (1,), (b"URL",)),
        request_id=7,
        flags=OpFlag.RECU,
        expiration=0x01020304,
    )
    data = m.encode(msg)
    body = (
        struct.pack(">I", 6)
        + b"88.1/x"
        + struct.pack(">II", 1, 1)
        + struct.pack(">II", 1, 3)
        + b"URL"
    )
    header = struct.pack(">IIIHBBII", 1, 0, 0x10000000, 0, 0, 0, 0x01020304, len(body))
    envelope = bytes([2, 10, 2, 10]) + struct.pack(">IIII", 0, 7, 0, 24 + len(body) + 4)
    assert data == envelope + header + body + b"\x00\x00\x00\x00"
    assert m.decode(data) == msg


def test_value_layout_and_round_trip() -> None:
    value = HandleValue(
        index=1,
        type="URL",
        data=b"http://x",
        ttl=3600,
        ttl_type=TtlType.RELATIVE,
        timestamp=1_700_000_000,
        permissions=ValuePermission.PUBLIC_READ | ValuePermission.ADMIN_READ,
        references=(ValueReference("88.1/ref", 2),),
    )
    raw = encode_value(value)
    assert raw[:14] == struct.pack(">IIBiB", 1, 1_700_000_000, 0, 3600, 0x0A)
    assert decode_values([raw]) == [value]
    record = encode_record("88.1/X", [value, HandleValue(100, "HS_ADMIN", b"", timestamp=1)])
    name, values = decode_record(record)
    assert name == "88.1/X"
    assert [v.index for v in values] == [1, 100]


def test_admin_site_and_pubkey_layouts() -> None:
    admin = AdminRecord("0.NA/88.1", 300, AdminPermission.ADD_HANDLE | AdminPermission.READ_VALUE)
    raw = encode_admin(admin)
    assert raw == struct.pack(">HI", 0x0401, 9) + b"0.NA/88.1" + struct.pack(">I", 300)
    assert decode_admin(raw) == admin
    site = SiteInfo.single("127.0.0.1", 2641)
    raw_site = encode_site(site)
    assert raw_site[:8] == struct.pack(">HBBHBB", 1, 2, 10, 1, 0x80, 0)
    assert bytes(12) + bytes([127, 0, 0, 1]) in raw_site
    assert decode_site(raw_site) == site
    assert decode_site(raw_site).servers[0].address == ipaddress.ip_address("127.0.0.1")
    assert decode_pubkey(encode_pubkey("SM2_PUB_KEY", b"\x04abc")) == ("SM2_PUB_KEY", b"\x04abc")
    with pytest.raises(HandleError) as err:
        decode_site(raw_site[:-3])
    assert err.value.rc == ResponseCode.INVALID_VALUE


def test_referral_error_and_site_info_round_trip() -> None:
    site_value = encode_value(HandleValue(1, "HS_SITE", encode_site(SiteInfo.single("::1", 9))))
    for body, rc, op in [
        (
            m.ReferralResponse(b"0.NA/88", (site_value,)),
            ResponseCode.PREFIX_REFERRAL,
            OpCode.RESOLUTION,
        ),
        (m.ErrorResponse(b"88.1/x not found"), ResponseCode.HANDLE_NOT_FOUND, OpCode.RESOLUTION),
        (
            m.SiteInfoResponse(encode_site(SiteInfo.single("10.0.0.1", 2641))),
            ResponseCode.SUCCESS,
            OpCode.GET_SITE_INFO,
        ),
        (m.GenericRequest(b""), ResponseCode.RESERVED, OpCode.GET_SITE_INFO),
    ]:
        msg = m.Message(opcode=op, rc=rc, body=body, request_id=3)
        assert m.decode(m.encode(msg)) == msg
    assert ResponseCode.SERVICE_REFERRAL == 302  # RFC 3652; 402 is AUTHENTICATION_NEEDED


def _request() -> bytes:
    return m.encode(
        m.Message(opcode=OpCode.RESOLUTION, rc=0, body=m.ResolutionRequest(b"88.1/x"), request_id=1)
    )


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda d: d[:30], "shorter than envelope and header"),
        (lambda d: d[:-1], "envelope says"),
        (lambda d: d[:16] + struct.pack(">I", 10**6) + d[20:], "envelope says"),
        (lambda d: d[:40] + struct.pack(">I", 999) + d[44:], "header says the body"),
        (lambda d: d[:44] + struct.pack(">I", 500) + d[48:], "truncated"),
        (lambda d: d[:20] + struct.pack(">I", 77) + d[24:], "unknown operation code 77"),
        (lambda d: d[:20] + struct.pack(">I", 100) + d[24:], "CREATE_HANDLE"),
        (lambda d: d[:2] + b"\x80" + d[3:], "compressed"),
    ],
)
def test_broken_messages_raise_wire_error(mutate: object, reason: str) -> None:
    with pytest.raises(WireError) as err:
        m.decode(mutate(_request()))  # type: ignore[operator]
    assert reason in err.value.message


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200), st.integers(0, 60), st.binary(max_size=8))
def test_fuzzed_messages_raise_only_wire_error(noise: bytes, cut: int, patch: bytes) -> None:
    base = bytearray(_request())
    base[cut : cut + len(patch)] = patch
    for data in (bytes(base), noise, bytes(base[:44]) + noise):
        with contextlib.suppress(WireError):
            m.decode(data)
