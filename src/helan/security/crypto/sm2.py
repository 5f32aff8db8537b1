"""SM2 digital signatures (GB/T 32918.2-2016, GM/T 0003.2-2012) with SM3 (GB/T 32905).

Plain Python integers on the recommended curve sm2p256v1 (GB/T 32918.5), Jacobian coordinates,
Shamir's trick for verification. ``cryptography`` offers SM3 but not SM2, and the pure-Python
``gmssl`` package is untyped and string-based, so the curve arithmetic lives here, pinned by
the standard's known-answer example in the tests. Python integers are not constant-time: keep
signing keys on nodes whose timing an attacker cannot measure finely (see docs/ident.md).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes

DEFAULT_ID = b"1234567812345678"  # GB/T 35276 default signer ID

P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

Jacobian = tuple[int, int, int]
_INFINITY: Jacobian = (1, 1, 0)


class SM2Error(ValueError):
    """A malformed key or signature (a signature that merely fails verifies as False)."""


def sm3(*parts: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    for part in parts:
        digest.update(part)
    return digest.finalize()


def _double(pt: Jacobian) -> Jacobian:
    x, y, z = pt
    if z == 0 or y == 0:
        return _INFINITY
    yy = y * y % P
    s = 4 * x * yy % P
    zz = z * z % P
    m = (3 * x * x + A * zz * zz) % P
    x3 = (m * m - 2 * s) % P
    return x3, (m * (s - x3) - 8 * yy * yy) % P, 2 * y * z % P


def _add(p1: Jacobian, p2: Jacobian) -> Jacobian:
    x1, y1, z1 = p1
    x2, y2, z2 = p2
    if z1 == 0:
        return p2
    if z2 == 0:
        return p1
    z1z1, z2z2 = z1 * z1 % P, z2 * z2 % P
    u1, u2 = x1 * z2z2 % P, x2 * z1z1 % P
    s1, s2 = y1 * z2 * z2z2 % P, y2 * z1 * z1z1 % P
    if u1 == u2:
        return _double(p1) if s1 == s2 else _INFINITY
    h, r = (u2 - u1) % P, (s2 - s1) % P
    hh = h * h % P
    hhh, v = h * hh % P, u1 * hh % P
    x3 = (r * r - hhh - 2 * v) % P
    return x3, (r * (v - x3) - s1 * hhh) % P, z1 * z2 * h % P


def _affine(pt: Jacobian) -> tuple[int, int]:
    x, y, z = pt
    if z == 0:
        raise SM2Error("point at infinity")
    zinv = pow(z, -1, P)
    zinv2 = zinv * zinv % P
    return x * zinv2 % P, y * zinv2 * zinv % P


def _mul2(k1: int, p1: Jacobian, k2: int, p2: Jacobian) -> Jacobian:
    """k1*p1 + k2*p2 by one double-and-add pass over both scalars (Shamir's trick)."""
    both = _add(p1, p2)
    acc = _INFINITY
    for bit in range(max(k1.bit_length(), k2.bit_length()) - 1, -1, -1):
        acc = _double(acc)
        b1, b2 = (k1 >> bit) & 1, (k2 >> bit) & 1
        if b1 and b2:
            acc = _add(acc, both)
        elif b1:
            acc = _add(acc, p1)
        elif b2:
            acc = _add(acc, p2)
    return acc


_G: Jacobian = (GX, GY, 1)


def _point(public_key: bytes) -> Jacobian:
    """An uncompressed public key (04 || x || y), checked to lie on the curve."""
    if len(public_key) != 65 or public_key[0] != 4:
        raise SM2Error("an SM2 public key is 65 bytes: 04 || x || y")
    x, y = int.from_bytes(public_key[1:33], "big"), int.from_bytes(public_key[33:], "big")
    if x >= P or y >= P or (y * y - x * x * x - A * x - B) % P:
        raise SM2Error("the public key is not a point of sm2p256v1")
    return x, y, 1


def _encode_point(x: int, y: int) -> bytes:
    return b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")


@dataclass(frozen=True, slots=True)
class PrivateKey:
    secret: int

    @classmethod
    def generate(cls) -> PrivateKey:
        return cls(secrets.randbelow(N - 2) + 1)

    @classmethod
    def from_hex(cls, text: str) -> PrivateKey:
        try:
            value = int(text.strip(), 16)
        except ValueError:
            raise SM2Error("an SM2 private key is 64 hexadecimal digits") from None
        if not 0 < value < N - 1:
            raise SM2Error("the private key is outside 1..n-2")
        return cls(value)

    def hex(self) -> str:
        return f"{self.secret:064x}"

    def public_key(self) -> bytes:
        return _encode_point(*_affine(_mul2(self.secret, _G, 0, _G)))

    def __repr__(self) -> str:
        return "PrivateKey(<hidden>)"


def _z(public_key: bytes, uid: bytes) -> bytes:
    if len(uid) >= 8192:
        raise SM2Error("the signer ID is too long")
    params = b"".join(v.to_bytes(32, "big") for v in (A, B, GX, GY))
    return sm3((len(uid) * 8).to_bytes(2, "big"), uid, params, public_key[1:])


def sign(
    key: PrivateKey, message: bytes, *, uid: bytes = DEFAULT_ID, nonce: int | None = None
) -> bytes:
    """The signature r || s (64 bytes). ``nonce`` is for known-answer tests only: a reused or
    predictable nonce reveals the private key."""
    e = int.from_bytes(sm3(_z(key.public_key(), uid), message), "big")
    d = key.secret
    while True:
        k = nonce if nonce is not None else secrets.randbelow(N - 1) + 1
        x1, _ = _affine(_mul2(k, _G, 0, _G))
        r = (e + x1) % N
        if r == 0 or r + k == N:
            if nonce is not None:
                raise SM2Error("the given nonce yields no signature")
            continue
        s = pow(1 + d, -1, N) * (k - r * d) % N
        if s:
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        if nonce is not None:
            raise SM2Error("the given nonce yields no signature")


def verify(public_key: bytes, message: bytes, signature: bytes, *, uid: bytes = DEFAULT_ID) -> bool:
    """True when ``signature`` (r || s) is ``public_key``'s over ``message``."""
    point = _point(public_key)
    if len(signature) != 64:
        return False
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    if not (0 < r < N and 0 < s < N):
        return False
    t = (r + s) % N
    if t == 0:
        return False
    e = int.from_bytes(sm3(_z(public_key, uid), message), "big")
    x1, _ = _affine(_mul2(s, _G, t, point))
    return (e + x1) % N == r
