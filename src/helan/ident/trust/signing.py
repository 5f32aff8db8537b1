"""Record signatures: an ``HS_SIGNATURE`` value holding a JWS (compact form), as Handle.Net 8+
signs records, with SM2/SM3 in place of RSA/SHA-256.

Header ``{"alg": "SM2-SM3", "kid": "<index>:<key handle>"}``; payload ``{"iss": kid, "sub":
handle, "iat", "exp", "digests": {"alg": "SM3", "digests": [{"index", "digest"}]}}`` with one
SM3 digest (base64url) per signed value over its wire encoding, so an answer filtered by index
or type still verifies value by value. The signature is SM2 with the default ID over the ASCII
``header.payload``, 64 bytes r || s, base64url. The signature value itself is not covered.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from helan.ident.model import HandleValue
from helan.ident.wire.records import decode_pubkey, decode_values, encode_pubkey, encode_value
from helan.security.crypto import sm2

SIGNATURE_TYPE = "HS_SIGNATURE"
PUBKEY_TYPE = "HS_PUBKEY"
KEY_TYPE = "SM2_PUB_KEY"
SIGNATURE_INDEX = 400
PUBKEY_INDEX = 301
ALG = "SM2-SM3"
VALIDITY_S = 365 * 86400


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class Signer:
    """A node's signing key and the name under which its public key is published."""

    key: sm2.PrivateKey
    # "301:0.NA/88.118.100"; empty: the HS_PUBKEY of each record's own prefix record (a node
    # that hosts many prefixes under one key, like the platform's, publishes it in each)
    kid: str = ""

    def kid_for(self, handle: str) -> str:
        if self.kid:
            return self.kid
        prefix = handle.partition("/")[0]
        return f"{PUBKEY_INDEX}:{handle if prefix.upper() == '0.NA' else '0.NA/' + prefix}"

    def pubkey_value(self) -> HandleValue:
        return HandleValue(
            PUBKEY_INDEX, PUBKEY_TYPE, encode_pubkey(KEY_TYPE, self.key.public_key())
        )

    def sign(self, handle: str, values: Sequence[HandleValue]) -> HandleValue:
        """The ``HS_SIGNATURE`` value over ``values`` (already timestamped, as stored)."""
        now = int(time.time())
        digests = [
            {"index": v.index, "digest": _b64(sm2.sm3(encode_value(v)))}
            for v in values
            if v.type != SIGNATURE_TYPE
        ]
        kid = self.kid_for(handle)
        header = _b64(orjson.dumps({"alg": ALG, "kid": kid}))
        payload = _b64(
            orjson.dumps(
                {
                    "iss": kid,
                    "sub": handle,
                    "iat": now,
                    "exp": now + VALIDITY_S,
                    "digests": {"alg": "SM3", "digests": digests},
                }
            )
        )
        signature = sm2.sign(self.key, f"{header}.{payload}".encode("ascii"))
        jws = f"{header}.{payload}.{_b64(signature)}".encode("ascii")
        return HandleValue(SIGNATURE_INDEX, SIGNATURE_TYPE, jws, timestamp=now)


def _payload(jws: bytes, public_key: bytes) -> dict[str, object] | None:
    try:
        header_b64, payload_b64, sig_b64 = jws.decode("ascii").split(".")
        header = orjson.loads(_unb64(header_b64))
        if not isinstance(header, dict) or header.get("alg") != ALG:
            return None
        signed = f"{header_b64}.{payload_b64}".encode("ascii")
        if not sm2.verify(public_key, signed, _unb64(sig_b64)):
            return None
        payload = orjson.loads(_unb64(payload_b64))
    except (ValueError, binascii.Error, orjson.JSONDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


def verify_values(handle: str, encoded: Sequence[bytes], public_key: bytes) -> bool:
    """Whether every value in ``encoded`` (wire form) is covered by a valid signature of
    ``public_key`` for ``handle`` that has not expired. Unsigned or partly signed: False."""
    values = decode_values(encoded)
    signed = [v for v in values if v.type == SIGNATURE_TYPE]
    covered = {
        v.index: _b64(sm2.sm3(raw))
        for v, raw in zip(values, encoded, strict=True)
        if v.type != SIGNATURE_TYPE
    }
    if not covered:
        return False
    now = time.time()
    for value in signed:
        payload = _payload(value.data, public_key)
        if payload is None or str(payload.get("sub", "")).upper() != handle.upper():
            continue
        if not isinstance(payload.get("exp"), int) or payload["exp"] < now:  # type: ignore[operator]
            continue
        digests = payload.get("digests")
        entries = digests.get("digests") if isinstance(digests, dict) else None
        if not isinstance(entries, list):
            continue
        known = {e.get("index"): e.get("digest") for e in entries if isinstance(e, dict)}
        if all(known.get(index) == digest for index, digest in covered.items()):
            return True
    return False


def published_key(encoded: Sequence[bytes]) -> bytes | None:
    """The SM2 public key among a prefix record's values (``HS_PUBKEY``), if any."""
    for value in decode_values(encoded):
        if value.type == PUBKEY_TYPE:
            key_type, key = decode_pubkey(value.data)
            if key_type == KEY_TYPE:
                return key
    return None
