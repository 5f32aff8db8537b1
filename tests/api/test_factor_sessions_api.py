"""The second factor and login sessions over HTTP: enrolment with a QR code, confirmation,
login with the code, an administrator past the grace period held to enrolment, sessions listed
and ended (refresh and access tokens stop), an administrator's reset, the password policy, and
every change in the audit chain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import sqlalchemy as sa
from meta_world import PASSWORD, Api, bearer

from helan.storage.meta.models import AuditEntry, User

TENANT_USERS = "/api/v1/tenants/acme/users"


def _tenant_admin(api: Api, name: str = "tina") -> None:
    root = api.as_admin()
    api.client.post("/api/v1/tenants", headers=root, json={"id": "acme", "name": "Acme"})
    body = {"username": name, "password": PASSWORD, "role": "tenant_admin"}
    api.ok("POST", TENANT_USERS, root, json=body)


def _login(api: Api, username: str, **extra: str) -> dict:
    r = api.client.post(
        "/api/v1/auth/token",
        json={"username": username, "password": PASSWORD, **extra},
        headers={"user-agent": "pytest-browser/1.0"},
    )
    assert r.status_code == 200, r.text
    return r.json()


def _age(api: Api, username: str, days: int) -> None:
    with api.platform.meta.session() as s:
        s.execute(
            sa.update(User)
            .where(User.username == username)
            .values(created_at=datetime.now(UTC) - timedelta(days=days))
        )


def _enrol(api: Api, token: str) -> tuple[pyotp.TOTP, list[str]]:
    headers = bearer(token)
    start = api.client.post("/api/v1/auth/factor", headers=headers)
    assert start.status_code == 201, start.text
    body = start.json()
    assert body["qr_svg"].startswith("<svg")
    totp = pyotp.parse_uri(body["otpauth_uri"])
    assert isinstance(totp, pyotp.TOTP)
    assert totp.secret == body["secret"]
    wrong = api.client.post("/api/v1/auth/factor/confirm", headers=headers, json={"code": "12345x"})
    assert wrong.status_code == 422
    confirm = api.client.post(
        "/api/v1/auth/factor/confirm", headers=headers, json={"code": totp.now()}
    )
    assert confirm.status_code == 200, confirm.text
    codes = confirm.json()["recovery_codes"]
    assert len(codes) == 10
    return totp, codes


def test_admin_in_grace_is_told_then_held_to_enrolment_after_it(api: Api) -> None:
    _tenant_admin(api)
    fresh = _login(api, "tina")
    assert fresh["enrol_only"] is False
    assert fresh["mfa_enrol_by"] is not None  # within 7 days of creation: told by when
    status = api.client.get("/api/v1/auth/factor", headers=bearer(fresh["access_token"])).json()
    assert status["required"] is True
    assert status["enrolled"] is False

    _age(api, "tina", 8)
    held = _login(api, "tina")
    assert held["enrol_only"] is True
    headers = bearer(held["access_token"])
    refused = api.client.get("/api/v1/tenants/acme/devices", headers=headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "mfa_enrolment_required"
    assert api.client.get("/api/v1/auth/me", headers=headers).json()["enrol_only"] is True

    totp, codes = _enrol(api, held["access_token"])
    # the enrol-only token stays so; a new login with the code is a full one
    assert api.client.get("/api/v1/tenants/acme/devices", headers=headers).status_code == 403
    no_code = api.client.post("/api/v1/auth/token", json={"username": "tina", "password": PASSWORD})
    assert no_code.status_code == 401
    assert no_code.json()["error"]["code"] == "mfa_required"
    full = _login(api, "tina", otp=codes[0])  # a recovery code (the TOTP step was just used)
    assert full["enrol_only"] is False
    assert full["mfa_enrol_by"] is None
    ok = api.client.get("/api/v1/tenants/acme/devices", headers=bearer(full["access_token"]))
    assert ok.status_code == 200
    again = api.client.post(
        "/api/v1/auth/token", json={"username": "tina", "password": PASSWORD, "otp": codes[0]}
    )
    assert again.status_code == 401  # each recovery code works once
    assert totp.secret


def test_operator_needs_no_factor(api: Api) -> None:
    root = api.as_admin()
    api.client.post("/api/v1/tenants", headers=root, json={"id": "acme", "name": "Acme"})
    api.ok(
        "POST",
        TENANT_USERS,
        root,
        json={"username": "otto", "password": PASSWORD, "role": "operator"},
    )
    _age(api, "otto", 100)
    body = _login(api, "otto")
    assert body["enrol_only"] is False
    assert body["mfa_enrol_by"] is None


def test_sessions_listed_and_ended(api: Api) -> None:
    _tenant_admin(api)
    one, two = _login(api, "tina"), _login(api, "tina")
    listed = api.client.get("/api/v1/auth/sessions", headers=bearer(one["access_token"]))
    assert listed.status_code == 200
    sessions = listed.json()
    assert len(sessions) == 2
    assert {s["user_agent"] for s in sessions} == {"pytest-browser/1.0"}
    mine = next(s for s in sessions if s["current"])
    other = next(s for s in sessions if not s["current"])

    end = api.client.delete(
        f"/api/v1/auth/sessions/{other['id']}", headers=bearer(one["access_token"])
    )
    assert end.status_code == 204
    # the ended login's refresh token and access token stop working
    r = api.client.post("/api/v1/auth/refresh", json={"refresh_token": two["refresh_token"]})
    assert r.status_code == 401
    me = api.client.get("/api/v1/auth/me", headers=bearer(two["access_token"]))
    assert me.status_code == 401
    assert me.json()["error"]["code"] == "revoked"
    # the current one still works, and ending an unknown or ended session is 404
    assert api.client.get("/api/v1/auth/me", headers=bearer(one["access_token"])).status_code == 200
    again = api.client.delete(
        f"/api/v1/auth/sessions/{other['id']}", headers=bearer(one["access_token"])
    )
    assert again.status_code == 404
    assert mine["address"]


def test_admin_resets_a_lost_factor_and_ends_sessions(api: Api) -> None:
    _tenant_admin(api)
    body = {"username": "olga", "password": PASSWORD, "role": "tenant_admin"}
    tina = bearer(_login(api, "tina")["access_token"])
    api.ok("POST", TENANT_USERS, tina, json=body)
    olga = _login(api, "olga")
    _enrol(api, olga["access_token"])
    assert api.client.delete(f"{TENANT_USERS}/olga/factor", headers=tina).status_code == 204
    assert api.client.delete(f"{TENANT_USERS}/olga/factor", headers=tina).status_code == 404
    r = api.client.post("/api/v1/auth/refresh", json={"refresh_token": olga["refresh_token"]})
    assert r.status_code == 401  # the reset ended olga's sessions
    assert _login(api, "olga")["mfa_enrol_by"] is not None  # no code asked: enrol again
    assert api.client.delete(f"{TENANT_USERS}/olga/sessions", headers=tina).status_code == 204
    own = api.client.delete(f"{TENANT_USERS}/tina/factor", headers=tina)
    assert own.status_code == 409  # one's own factor goes with a code of it

    with api.platform.meta.session() as s:
        actions = list(
            s.scalars(
                sa.select(AuditEntry.action)
                .where(AuditEntry.action.like("auth.%"))
                .order_by(AuditEntry.seq)
            )
        )
    for action in (
        "auth.factor.enrol",
        "auth.factor.confirm",
        "auth.factor.reset",
        "auth.session.revoke_all",
    ):
        assert action in actions


def test_removing_ones_own_factor_needs_a_code(api: Api) -> None:
    _tenant_admin(api)
    token = _login(api, "tina")["access_token"]
    _, codes = _enrol(api, token)
    headers = bearer(token)
    bad = api.client.request(
        "DELETE", "/api/v1/auth/factor", headers=headers, json={"code": "999999"}
    )
    assert bad.status_code == 422
    good = api.client.request(
        "DELETE", "/api/v1/auth/factor", headers=headers, json={"code": codes[1]}
    )
    assert good.status_code == 204
    status = api.client.get("/api/v1/auth/factor", headers=headers).json()
    assert status["enrolled"] is False


def test_password_policy_on_every_way_a_password_is_set(api: Api) -> None:
    _tenant_admin(api)
    tina = bearer(_login(api, "tina")["access_token"])
    for password, needle in (
        ("tina-is-the-best-admin", "username"),
        ("password123456", "common"),
    ):
        body = {"username": "newbie", "password": password, "role": "viewer"}
        if needle == "username":
            body["username"] = "tina-is"
        r = api.client.post(TENANT_USERS, headers=tina, json=body)
        assert r.status_code == 422, r.text
        assert needle in r.json()["error"]["message"]
    change = api.client.post(
        "/api/v1/auth/password",
        headers=tina,
        json={"current_password": PASSWORD, "new_password": "my name is tina, ok?"},
    )
    assert change.status_code == 422
    assert "username" in change.json()["error"]["message"]
