"""Logging in: password → short-lived access token + rotating refresh token; who am I."""

from __future__ import annotations

from functools import partial
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from helan.api.deps import CurrentPrincipal, Meta, get_auth
from helan.api.schemas.auth import (
    EnrolmentOut,
    FactorCode,
    FactorStatusOut,
    LoginJson,
    MeOut,
    RecoveryCodesOut,
    RefreshRequest,
    SessionOut,
    TokenOut,
)
from helan.api.schemas.users import PasswordChange
from helan.core.errors import Forbidden, Unauthenticated, ValidationFailed
from helan.core.hashing import hash_password, verify_password
from helan.security import audit
from helan.security.auth import Authenticator, TokenPair
from helan.services import account
from helan.services.users import check_new_password
from helan.storage.meta.models import User

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
Auth = Annotated[Authenticator, Depends(get_auth)]
_FORM = "application/x-www-form-urlencoded"
M = TypeVar("M", bound=BaseModel)

_TOKEN_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            _FORM: {
                "schema": {
                    "type": "object",
                    "properties": {
                        "grant_type": {"enum": ["password", "refresh_token"]},
                        "username": {"type": "string"},
                        "password": {"type": "string"},
                        "refresh_token": {"type": "string"},
                        "otp": {"type": "string"},
                    },
                }
            },
            "application/json": {"schema": LoginJson.model_json_schema()},
        },
    }
}


def _parse(model: type[M], data: object) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) or "body" for e in exc.errors())
        raise ValidationFailed(f"invalid login request: {fields}") from None


def _out(pair: TokenPair) -> TokenOut:
    return TokenOut.model_validate(pair)


@router.post("/token", openapi_extra=_TOKEN_BODY)
async def token(request: Request, auth: Auth) -> TokenOut:
    """OAuth2 password grant (form, as OAuth2 clients send it) or JSON ``{username, password}``;
    the form also takes ``grant_type=refresh_token``. Five wrong passwords lock the account
    for 30 s, doubling per further failure up to 15 min (429 meanwhile)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            data = await request.json()
        except ValueError as exc:
            raise ValidationFailed(f"malformed JSON body: {exc}") from None
        login = _parse(LoginJson, data)
    elif content_type in (_FORM, "multipart/form-data"):
        form = dict(await request.form())
        grant = form.pop("grant_type", "password")
        if grant == "refresh_token":
            refresh = _parse(RefreshRequest, form)
            return _out(await run_in_threadpool(auth.refresh, refresh.refresh_token))
        if grant != "password":
            raise ValidationFailed(f"unsupported grant_type {grant!r}")
        form.pop("scope", None)
        form.pop("client_id", None)
        form.pop("client_secret", None)
        login = _parse(LoginJson, form)
    else:
        raise ValidationFailed("send a form (application/x-www-form-urlencoded) or JSON body")
    address = request.client.host if request.client else None
    pair = await run_in_threadpool(
        partial(
            auth.login,
            login.username,
            login.password,
            otp=login.otp,
            address=address,
            user_agent=request.headers.get("user-agent"),
        )
    )
    return _out(pair)


@router.post("/refresh")
async def refresh(body: RefreshRequest, auth: Auth) -> TokenOut:
    """Spend a refresh token for a new pair. Re-using a spent token revokes its whole family."""
    return _out(await run_in_threadpool(auth.refresh, body.refresh_token))


@router.post("/logout", status_code=204)
async def logout(body: RefreshRequest, auth: Auth) -> Response:
    """Revoke the refresh token and every token rotated from the same login."""
    await run_in_threadpool(auth.revoke_refresh, body.refresh_token)
    return Response(status_code=204)


@router.get("/me")
async def me(principal: CurrentPrincipal) -> MeOut:
    return MeOut(
        kind=principal.kind,
        subject=principal.subject,
        tenant=principal.tenant,
        role=principal.role.value,
        scopes=sorted(principal.scopes),
        enrol_only=principal.enrol_only,
        region=principal.region,
    )


@router.post("/password", status_code=204)
def change_password(body: PasswordChange, principal: CurrentPrincipal, meta: Meta) -> Response:
    """Change your own password; every refresh token you hold is revoked."""
    if principal.kind != "user":
        raise Forbidden("only users have passwords")
    with audit.audited(
        meta,
        principal,
        tenant=principal.tenant,
        action="user.password",
        object_type="user",
        object_id=principal.subject,
    ) as s:
        user = s.get(User, principal.subject)
        if user is None or not verify_password(user.password_hash, body.current_password):
            raise Unauthenticated("current password is wrong", code="bad_credentials")
        check_new_password(user.username, body.new_password)
        user.password_hash = hash_password(body.new_password)
        account.end_all_sessions(s, user.username, keep=principal.session)
    return Response(status_code=204)


# -- second factor and sessions of one's own account ---------------------------------------------


@router.get("/factor")
def factor_status(principal: CurrentPrincipal, meta: Meta, auth: Auth) -> FactorStatusOut:
    """Whether a second factor is enrolled, whether the role requires one and by when."""
    return FactorStatusOut.model_validate(account.factor_status(meta, auth, principal))


@router.post("/factor", status_code=201)
def start_enrolment(principal: CurrentPrincipal, meta: Meta, auth: Auth) -> EnrolmentOut:
    """Start enrolling a TOTP factor: scan the QR code (or type the secret) into an
    authenticator app, then confirm with its current code."""
    return EnrolmentOut.model_validate(account.start_enrolment(meta, auth, principal))


@router.post("/factor/confirm")
def confirm_enrolment(
    body: FactorCode, principal: CurrentPrincipal, meta: Meta, auth: Auth
) -> RecoveryCodesOut:
    """Confirm with a current code; answers ten single-use recovery codes, shown only now.
    A token that was good only for enrolling stays so: sign in again."""
    codes = account.confirm_enrolment(meta, auth, principal, body.code)
    return RecoveryCodesOut(recovery_codes=codes)


@router.delete("/factor", status_code=204)
def remove_factor(
    body: FactorCode, principal: CurrentPrincipal, meta: Meta, auth: Auth
) -> Response:
    """Remove your factor, proven with a current or recovery code."""
    account.remove_factor(meta, auth, principal, body.code)
    return Response(status_code=204)


@router.get("/sessions")
def list_sessions(principal: CurrentPrincipal, meta: Meta) -> list[SessionOut]:
    """Your live logins (address, browser, last use); ``current`` is this one."""
    return [SessionOut.model_validate(x) for x in account.list_sessions(meta, principal)]


@router.delete("/sessions/{session_id}", status_code=204)
def end_session(
    session_id: Annotated[str, Path(min_length=1, max_length=64)],
    principal: CurrentPrincipal,
    meta: Meta,
) -> Response:
    """End one of your logins: its refresh tokens stop working at once and its access tokens
    within seconds."""
    account.end_session(meta, principal, session_id)
    return Response(status_code=204)
