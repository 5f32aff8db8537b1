"""Logging in, tokens, lockout, refresh rotation, API keys and device credentials over HTTP."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import jwt
import sqlalchemy as sa
from meta_world import PASSWORD, Api, bearer

from helan.security.tokens import load_secret
from helan.storage.meta.models import User


def _tenant_user(api: Api, role: str = "operator") -> str:
    root = api.as_admin()
    api.ok("POST", "/api/v1/tenants", root, json={"id": "acme", "name": "Acme"})
    body = {"username": "alice", "password": PASSWORD, "role": role}
    api.ok("POST", "/api/v1/tenants/acme/users", root, json=body)
    return "alice"


def test_password_login_form_and_json_and_me(api: Api) -> None:
    _tenant_user(api)
    form = api.client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": "alice", "password": PASSWORD},
    )
    assert form.status_code == 200, form.text
    body = form.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    me = api.client.get("/api/v1/auth/me", headers=bearer(body["access_token"])).json()
    assert me == {
        "kind": "user",
        "subject": "alice",
        "tenant": "acme",
        "role": "operator",
        "scopes": [],
        "enrol_only": False,
        "region": None,
    }
    json_login = api.client.post(
        "/api/v1/auth/token", json={"username": "alice", "password": PASSWORD}
    )
    assert json_login.status_code == 200


def test_wrong_password_then_lockout_even_for_the_right_one(api: Api) -> None:
    _tenant_user(api)
    for _ in range(5):
        r = api.client.post(
            "/api/v1/auth/token", json={"username": "alice", "password": "nope" * 4}
        )
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "bad_credentials"
    r = api.client.post("/api/v1/auth/token", json={"username": "alice", "password": PASSWORD})
    assert r.status_code == 429
    assert "try again in" in r.json()["error"]["message"]
    audit = api.ok("GET", "/api/v1/tenants/acme/audit?action=auth.login", api.as_admin())
    assert [e["result"] for e in audit["items"]][:2] == ["locked", "bad_credentials"]
    # An administrator resetting the password unlocks the account.
    api.ok(
        "PATCH",
        "/api/v1/tenants/acme/users/alice",
        api.as_admin(),
        json={"password": "another long password"},
    )
    assert api.login("alice", "another long password")


def test_unknown_user_looks_like_a_wrong_password(api: Api) -> None:
    r = api.client.post("/api/v1/auth/token", json={"username": "nobody", "password": "x" * 12})
    assert r.status_code == 401
    assert r.json()["error"] == {
        "code": "bad_credentials",
        "message": "invalid username or password",
    }


def test_refresh_rotates_and_reuse_revokes_the_family(api: Api) -> None:
    _tenant_user(api)
    first = api.ok(
        "POST", "/api/v1/auth/token", {}, json={"username": "alice", "password": PASSWORD}
    )
    second = api.ok(
        "POST", "/api/v1/auth/refresh", {}, json={"refresh_token": first["refresh_token"]}
    )
    assert second["refresh_token"] != first["refresh_token"]
    replay = api.client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "token_reused"
    # The replay revoked the token issued by the legitimate rotation too.
    stolen = api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}
    )
    assert stolen.status_code == 401


def test_refresh_grant_in_form_and_logout(api: Api) -> None:
    _tenant_user(api)
    pair = api.ok(
        "POST", "/api/v1/auth/token", {}, json={"username": "alice", "password": PASSWORD}
    )
    r = api.client.post(
        "/api/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]},
    )
    assert r.status_code == 200
    fresh = r.json()["refresh_token"]
    assert api.client.post("/api/v1/auth/logout", json={"refresh_token": fresh}).status_code == 204
    assert api.client.post("/api/v1/auth/refresh", json={"refresh_token": fresh}).status_code == 401


def test_expired_and_forged_access_tokens(api: Api) -> None:
    _tenant_user(api)
    secret = load_secret(api.platform.settings)
    now = datetime.now(UTC)
    claims = {"iss": "helan", "sub": "alice", "tid": "acme", "role": "operator", "typ": "access"}
    expired = jwt.encode(
        claims | {"iat": now - timedelta(hours=1), "exp": now - timedelta(minutes=1)},
        secret,
        algorithm="HS256",
    )
    r = api.client.get("/api/v1/auth/me", headers=bearer(expired))
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "token_expired"
    assert r.headers["www-authenticate"] == "Bearer"
    # Same claims signed with another key, and a platform-admin claim with alg "none".
    forged = jwt.encode(
        claims | {"iat": now, "exp": now + timedelta(minutes=5)}, b"x" * 32, algorithm="HS256"
    )
    unsigned = jwt.encode(
        claims | {"role": "platform_admin", "iat": now, "exp": now + timedelta(minutes=5)},
        None,
        algorithm="none",
    )
    for token in (forged, unsigned, "not.a.jwt", "garbage"):
        r = api.client.get("/api/v1/auth/me", headers=bearer(token))
        assert r.status_code == 401, token
        assert r.json()["error"]["code"] == "invalid_token", token


def test_token_role_comes_from_the_database_not_the_claim(api: Api) -> None:
    """A valid token whose user was disabled (or whose tenant was suspended) stops working."""
    _tenant_user(api)
    token = api.login("alice")
    assert api.client.get("/api/v1/tenants/acme/devices", headers=bearer(token)).status_code == 200
    api.ok("PATCH", "/api/v1/tenants/acme", api.as_admin(), json={"status": "suspended"})
    r = api.client.get("/api/v1/tenants/acme/devices", headers=bearer(token))
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "suspended"
    r = api.client.post("/api/v1/auth/token", json={"username": "alice", "password": PASSWORD})
    assert r.status_code == 401
    api.ok("PATCH", "/api/v1/tenants/acme", api.as_admin(), json={"status": "active"})
    api.ok("PATCH", "/api/v1/tenants/acme/users/alice", api.as_admin(), json={"disabled": True})
    assert api.client.get("/api/v1/tenants/acme/devices", headers=bearer(token)).status_code == 401


def test_api_keys_scopes_revocation_expiry_last_used(api: Api) -> None:
    _tenant_user(api)
    root = api.as_admin()
    key = api.ok(
        "POST",
        "/api/v1/tenants/acme/api-keys",
        root,
        json={"name": "reader", "scopes": ["devices:read"]},
    )
    assert key["key"].startswith("hk_")
    assert key["prefix"] == key["key"][:10]
    headers = {"X-API-Key": key["key"]}
    assert api.client.get("/api/v1/tenants/acme/devices", headers=headers).status_code == 200
    # The same key as a bearer token.
    assert (
        api.client.get("/api/v1/tenants/acme/devices", headers=bearer(key["key"])).status_code
        == 200
    )
    assert api.client.get("/api/v1/tenants/acme/users", headers=headers).status_code == 403
    r = api.client.post(
        "/api/v1/tenants/acme/devices", headers=headers, json={"id": "d", "name": "d"}
    )
    assert r.status_code == 403
    listed = api.ok("GET", f"/api/v1/tenants/acme/api-keys/{key['id']}", root)
    assert listed["last_used_at"] is not None
    assert "key" not in listed
    assert (
        api.client.delete(f"/api/v1/tenants/acme/api-keys/{key['id']}", headers=root).status_code
        == 204
    )
    r = api.client.get("/api/v1/tenants/acme/devices", headers=headers)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "revoked"
    assert api.ok("GET", "/api/v1/tenants/acme/api-keys?active=true", root)["total"] == 0

    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    short = api.ok(
        "POST",
        "/api/v1/tenants/acme/api-keys",
        root,
        json={"name": "short", "scopes": ["telemetry:read"], "expires_at": soon},
    )
    time.sleep(1.1)
    r = api.client.get("/api/v1/tenants/acme/devices/x/live", headers={"X-API-Key": short["key"]})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "token_expired"
    past = api.client.post(
        "/api/v1/tenants/acme/api-keys",
        headers=root,
        json={"name": "old", "scopes": ["admin"], "expires_at": "2001-01-01T00:00:00Z"},
    )
    assert past.status_code == 422
    unknown = api.client.get(
        "/api/v1/tenants/acme/devices", headers={"X-API-Key": "hk_" + "A" * 43}
    )
    assert unknown.status_code == 401


def test_device_credential_http_basic_and_rotation(api: Api) -> None:
    _tenant_user(api)
    root = api.as_admin()
    dev = api.ok("POST", "/api/v1/tenants/acme/devices", root, json={"id": "plc:7", "name": "PLC"})
    assert dev["username"] == "plc:7@acme"
    me = api.client.get("/api/v1/auth/me", auth=(dev["username"], dev["password"]))
    assert me.status_code == 200
    assert me.json()["subject"] == "plc:7"
    rotated = api.ok("POST", "/api/v1/tenants/acme/devices/plc:7/credentials", root)
    assert (
        api.client.get("/api/v1/auth/me", auth=(dev["username"], dev["password"])).status_code
        == 401
    )
    assert (
        api.client.get(
            "/api/v1/auth/me", auth=(rotated["username"], rotated["password"])
        ).status_code
        == 200
    )
    bad = api.client.get("/api/v1/auth/me", headers={"Authorization": "Basic !!!notbase64"})
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "unauthenticated"


def test_change_own_password(api: Api) -> None:
    _tenant_user(api)
    token = api.login("alice")
    r = api.client.post(
        "/api/v1/auth/password",
        headers=bearer(token),
        json={"current_password": "wrong", "new_password": "a brand new secret"},
    )
    assert r.status_code == 401
    r = api.client.post(
        "/api/v1/auth/password",
        headers=bearer(token),
        json={"current_password": PASSWORD, "new_password": "short"},
    )
    assert r.status_code == 422
    r = api.client.post(
        "/api/v1/auth/password",
        headers=bearer(token),
        json={"current_password": PASSWORD, "new_password": "a brand new secret"},
    )
    assert r.status_code == 204
    assert api.login("alice", "a brand new secret")
    with api.platform.meta.session() as s:
        assert s.scalar(sa.select(User.failed_logins).where(User.username == "alice")) == 0
