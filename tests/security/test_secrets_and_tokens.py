"""Hashing choices and access tokens."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from helan.config import Settings
from helan.core.errors import Unauthenticated
from helan.core.hashing import (
    digest_matches,
    hash_password,
    new_token,
    token_digest,
    verify_password,
)
from helan.security.tokens import AccessTokens, load_secret


def test_passwords_are_argon2id_and_salted() -> None:
    h1, h2 = hash_password("secret words"), hash_password("secret words")
    assert h1.startswith("$argon2id$")
    assert h1 != h2
    assert verify_password(h1, "secret words")
    assert not verify_password(h1, "secret word")
    assert not verify_password(None, "anything")  # unknown user: still costs a verification
    assert not verify_password("not-a-hash", "anything")


def test_tokens_are_random_and_never_contain_a_colon() -> None:
    tokens = {new_token("hk_") for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(t.startswith("hk_") and ":" not in t and len(t) == 46 for t in tokens)
    t = new_token()
    assert digest_matches(t, token_digest(t))
    assert not digest_matches(t + "x", token_digest(t))


def test_secret_generated_once_with_mode_0600(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    first = load_secret(settings)
    assert len(first) == 64
    assert load_secret(settings) == first
    assert stat.S_IMODE(os.stat(tmp_path / "var" / "secret.key").st_mode) == 0o600
    configured = Settings(data_dir=tmp_path / "var", secret_key=SecretStr("configured"))
    assert load_secret(configured) == b"configured"


def test_access_token_round_trip_and_tampering() -> None:
    tokens = AccessTokens(b"k" * 32, minutes=15)
    token, lifetime = tokens.issue("alice", "acme", "operator")
    assert lifetime == 900
    claims = tokens.verify(token)
    assert (claims.username, claims.tenant, claims.role) == ("alice", "acme", "operator")
    header, payload, signature = token.split(".")
    with pytest.raises(Unauthenticated):
        tokens.verify(f"{header}.{payload}.{signature[:-2]}AA")
    with pytest.raises(Unauthenticated):
        AccessTokens(b"other" * 8, minutes=15).verify(token)
    expired, _ = AccessTokens(b"k" * 32, minutes=-1).issue("alice", "acme", "operator")
    with pytest.raises(Unauthenticated, match="expired"):
        tokens.verify(expired)
