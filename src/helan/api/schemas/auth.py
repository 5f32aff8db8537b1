from __future__ import annotations

from datetime import datetime
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
    # The account's role requires a second factor and it has none: until when it may sign in
    # without one, and whether this token (past that) is good only for enrolling one.
    mfa_enrol_by: datetime | None = None
    enrol_only: bool = False


OtpCode = Annotated[str, StringConstraints(min_length=6, max_length=20, strip_whitespace=True)]


class FactorCode(Input):
    code: OtpCode  # a current TOTP code, or (to remove a factor) a recovery code


class FactorStatusOut(Output):
    enrolled: bool
    pending: bool
    required: bool
    enrol_by: datetime | None
    recovery_codes_left: int
    confirmed_at: datetime | None


class EnrolmentOut(Output):
    otpauth_uri: str
    secret: str
    qr_svg: str


class RecoveryCodesOut(Output):
    recovery_codes: list[str]


class SessionOut(Output):
    id: str
    created_at: datetime
    last_seen_at: datetime
    address: str | None
    user_agent: str | None
    current: bool


class MeOut(Output):
    kind: str
    subject: str
    tenant: str | None
    role: str
    scopes: list[str]
    enrol_only: bool = False  # this token may only enrol a second factor
    region: str | None = None  # a region viewer's division (GB/T 2260)
