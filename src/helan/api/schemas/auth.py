from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from helan.api.schemas.common import Input, Output

Credential = Annotated[str, StringConstraints(min_length=1, max_length=512, strip_whitespace=False)]


class LoginJson(Input):
    username: Credential
    password: Credential
    otp: Credential | None = None  # a TOTP or recovery code, where the account has a factor


class RefreshRequest(Input):
    refresh_token: Credential


class TokenOut(Output):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


class MeOut(Output):
    kind: str
    subject: str
    tenant: str | None
    role: str
    scopes: list[str]
