"""Short-lived signed access tokens (JWT, HS256) and the key that signs them."""

from __future__ import annotations

import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt

from helan.config import Settings
from helan.core.errors import Unauthenticated

ALGORITHM = "HS256"
ISSUER = "helan"
SECRET_FILE = "secret.key"  # noqa: S105 - a file name


def load_secret(settings: Settings) -> bytes:
    """The configured secret, else one generated on first use and kept (mode 0600) in data_dir,
    so tokens survive a restart and every process sharing the data dir accepts them."""
    configured = settings.secret_key.get_secret_value()
    if configured:
        return configured.encode()
    path: Path = settings.data_dir / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as fh:
        fh.write(secrets.token_hex(32).encode())
    return path.read_bytes().strip()


@dataclass(frozen=True, slots=True)
class AccessClaims:
    username: str
    tenant: str | None
    role: str
    expires_at: datetime
    session: str | None = None  # the login (refresh-token family) the token belongs to
    enrol_only: bool = False  # good only for enrolling a second factor


class AccessTokens:
    def __init__(self, secret: bytes, minutes: int) -> None:
        self._secret = secret
        self.lifetime = timedelta(minutes=minutes)

    def issue(
        self,
        username: str,
        tenant: str | None,
        role: str,
        *,
        session: str | None = None,
        enrol_only: bool = False,
    ) -> tuple[str, int]:
        """The token and its lifetime in seconds."""
        now = datetime.now(UTC)
        claims: dict[str, object] = {
            "iss": ISSUER,
            "sub": username,
            "tid": tenant,
            "role": role,
            "typ": "access",
            "iat": now,
            "exp": now + self.lifetime,
            "jti": uuid.uuid4().hex,
        }
        if session is not None:
            claims["sid"] = session
        if enrol_only:
            claims["enr"] = True
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM), int(
            self.lifetime.total_seconds()
        )

    def verify(self, token: str) -> AccessClaims:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("access token expired", code="token_expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid access token: {exc}", code="invalid_token") from exc
        if claims.get("typ") != "access" or not isinstance(claims.get("role"), str):
            raise Unauthenticated("not an access token", code="invalid_token")
        return AccessClaims(
            username=str(claims["sub"]),
            tenant=claims.get("tid"),
            role=claims["role"],
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            session=claims.get("sid") if isinstance(claims.get("sid"), str) else None,
            enrol_only=claims.get("enr") is True,
        )
