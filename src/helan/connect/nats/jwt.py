"""The few NATS JWTs the auth callout reads and writes, signed with an account nkey (Ed25519).

NATS's JWTs are ordinary JWTs with ``alg: ed25519-nkey``: base64url header and claims, and an
Ed25519 signature of ``header.claims`` by the issuer's nkey. The server checks the signature of
what the callout answers against the issuer named in its config; what the server sends (the
authorization request) comes over a connection only the callout holds, so it is decoded here,
not verified.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from typing import Any

import nkeys
import orjson

_HEADER = {"typ": "JWT", "alg": "ed25519-nkey"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class AccountKey:
    """A fresh account signing key, made once per server start (never written anywhere but the
    server's config, which holds only its public half)."""

    def __init__(self) -> None:
        seed = nkeys.encode_seed(secrets.token_bytes(32), nkeys.PREFIX_BYTE_ACCOUNT)
        self._pair = nkeys.from_seed(bytearray(seed))
        self.public = self._pair.public_key.decode()

    def sign(self, claims: dict[str, Any]) -> str:
        """``claims`` (with iss, iat and jti filled in) as a signed JWT."""
        body = {"iat": int(time.time()), "iss": self.public, **claims}
        body["jti"] = _b64(hashlib.sha256(orjson.dumps(body)).digest())
        signed = f"{_b64(orjson.dumps(_HEADER))}.{_b64(orjson.dumps(body))}"
        signature: bytes = self._pair.sign(signed.encode())
        return f"{signed}.{_b64(signature)}"


def decode(token: str) -> dict[str, Any]:
    """The claims of a JWT; ValueError when it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a JWT")
    claims = orjson.loads(_unb64(parts[1]))
    if not isinstance(claims, dict):
        raise ValueError("JWT claims are not an object")
    return claims
