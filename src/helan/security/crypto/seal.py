"""Secrets at rest: SM4-GCM under a key kept apart from the database.

A sealed value is ``sm4gcm:<key id>:<base64url(nonce || ciphertext || tag)>``; the prefix is
authenticated too, so a value cannot be moved to another key id. The key ring is
``HELAN_SECRETS_KEY`` (32 hex digits, or several comma-separated: the first seals, all open,
which is how a rotation of a configured key goes) or, unset, the file ``secrets.keys`` in the
data dir (mode 0600, JSON ``{"current": id, "keys": {id: hex}}``). :func:`rotate_file` adds a
new current key to the file; re-sealing the stored values (``helan admin rotate-secrets-key``)
then lets the old one go. A wrong key, a changed byte or a truncated tag fail with
:class:`SealError`, never with garbage.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from helan.config import Settings
from helan.security.crypto.keys import kept_key
from helan.security.crypto.sm2 import sm3

PREFIX = "sm4gcm:"
KEYS_FILE = "secrets.keys"
NONCE, TAG = 12, 16


class SealError(ValueError):
    pass


def key_id(key: bytes) -> str:
    return sm3(b"helan-secrets-key", key).hex()[:12]


def _new_ring() -> str:
    key = secrets.token_bytes(16)
    return orjson.dumps({"current": key_id(key), "keys": {key_id(key): key.hex()}}).decode()


@dataclass(frozen=True, slots=True)
class Sealer:
    current: str
    keys: dict[str, bytes]

    @classmethod
    def from_settings(cls, settings: Settings) -> Sealer:
        configured = settings.secrets_key.get_secret_value().strip()
        if configured:
            try:
                keys = [bytes.fromhex(k.strip()) for k in configured.split(",")]
            except ValueError:
                raise SealError("HELAN_SECRETS_KEY must be hexadecimal") from None
            if any(len(k) != 16 for k in keys):
                raise SealError("an SM4 key is 32 hexadecimal digits")
            return cls(key_id(keys[0]), {key_id(k): k for k in keys})
        return cls.from_file(settings.data_dir / KEYS_FILE)

    @classmethod
    def from_file(cls, path: Path) -> Sealer:
        try:
            ring = orjson.loads(kept_key("", path, _new_ring))
            keys = {str(kid): bytes.fromhex(hexkey) for kid, hexkey in ring["keys"].items()}
            current = str(ring["current"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SealError(f"unreadable secrets key file {path}: {exc}") from None
        if current not in keys:
            raise SealError(f"secrets key file {path} names no current key")
        return cls(current, keys)

    def seal(self, plaintext: str) -> str:
        head = f"{PREFIX}{self.current}:"
        nonce = os.urandom(NONCE)
        enc = Cipher(algorithms.SM4(self.keys[self.current]), modes.GCM(nonce)).encryptor()
        enc.authenticate_additional_data(head.encode())
        body = enc.update(plaintext.encode()) + enc.finalize() + enc.tag
        return head + base64.urlsafe_b64encode(nonce + body).decode()

    def open(self, sealed: str) -> str:
        if not is_sealed(sealed):
            raise SealError("not a sealed value")
        kid, _, data = sealed[len(PREFIX) :].partition(":")
        key = self.keys.get(kid)
        if key is None:
            raise SealError(f"sealed with key {kid!r}, which this key ring does not hold")
        try:
            raw = base64.b64decode(data.encode(), altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            raise SealError("sealed value is not base64") from None
        if len(raw) < NONCE + TAG:
            raise SealError("sealed value is truncated (no full nonce and tag)")
        nonce, body, tag = raw[:NONCE], raw[NONCE:-TAG], raw[-TAG:]
        dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
        dec.authenticate_additional_data(f"{PREFIX}{kid}:".encode())
        try:
            return (dec.update(body) + dec.finalize()).decode()
        except InvalidTag:
            raise SealError(f"sealed value fails authentication under key {kid!r}") from None

    def reseal(self, value: str) -> str:
        """``value`` under the current key (plain values are sealed, current ones kept)."""
        if is_sealed(value) and value.startswith(f"{PREFIX}{self.current}:"):
            return value
        return self.seal(self.open(value) if is_sealed(value) else value)


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def reveal(value: str, settings: Settings) -> str:
    """A secret from the configuration (``HELAN_SMTP_PASSWORD``, an identifier node's admin
    secret or SM2 key): sealed values (``helan admin seal-secret``) are opened with the
    secrets key, so the configuration file need not hold the plaintext; plain ones as given."""
    return Sealer.from_settings(settings).open(value) if is_sealed(value) else value


def rotate_file(path: Path) -> Sealer:
    """Add a new current key to the key file (the old ones stay until :func:`retire_file`)."""
    old = Sealer.from_file(path)
    key = secrets.token_bytes(16)
    keys = {**{k: v.hex() for k, v in old.keys.items()}, key_id(key): key.hex()}
    _write(path, key_id(key), keys)
    return Sealer(key_id(key), {k: bytes.fromhex(v) for k, v in keys.items()})


def retire_file(path: Path) -> None:
    """Keep only the current key (after every stored value was resealed under it)."""
    ring = Sealer.from_file(path)
    _write(path, ring.current, {ring.current: ring.keys[ring.current].hex()})


def _write(path: Path, current: str, keys: dict[str, str]) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(orjson.dumps({"current": current, "keys": keys}) + b"\n")
    tmp.replace(path)
