"""SM2 pinned by the standard's example (GB/T 32918.5 / GM/T 0003.5 Annex A, sm2p256v1)."""

from __future__ import annotations

import pytest

from helan.security.crypto.sm2 import PrivateKey, SM2Error, sign, sm3, verify

D = "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8"
PUB = bytes.fromhex(
    "04"
    "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
    "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
)
K = 0x59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21
SIG = bytes.fromhex(
    "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
    "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
)
MSG = b"message digest"


def test_sm3_known_answer() -> None:  # GB/T 32905 example 1
    assert sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_standard_example_key_signature_and_verification() -> None:
    key = PrivateKey.from_hex(D)
    assert key.public_key() == PUB
    assert sign(key, MSG, nonce=K) == SIG
    assert verify(PUB, MSG, SIG)


def test_verification_refuses_any_change() -> None:
    assert not verify(PUB, MSG + b"!", SIG)
    assert not verify(PUB, MSG, SIG, uid=b"ALICE123@YAHOO.COM")
    assert not verify(PUB, MSG, SIG[:10] + bytes([SIG[10] ^ 1]) + SIG[11:])
    assert not verify(PUB, MSG, SIG[:63])
    assert not verify(PUB, MSG, bytes(64))
    other = PrivateKey.generate()
    assert not verify(other.public_key(), MSG, SIG)
    with pytest.raises(SM2Error, match="not a point"):
        verify(PUB[:-1] + bytes([PUB[-1] ^ 1]), MSG, SIG)


def test_random_signatures_verify() -> None:
    key = PrivateKey.generate()
    first, second = sign(key, b"record"), sign(key, b"record")
    assert first != second  # a fresh nonce each time
    assert verify(key.public_key(), b"record", first)
    assert verify(key.public_key(), b"record", second)
    assert PrivateKey.from_hex(key.hex()) == key
    with pytest.raises(SM2Error):
        PrivateKey.from_hex("zz")
    assert "hidden" in repr(key)
