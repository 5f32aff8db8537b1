"""Login hardening on a real SQLite database: TOTP enrolment with confirm, replay in the same
step refused, recovery codes once each, the second factor at login, the throttle by source
address across usernames, and the password policy."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyotp
import pytest

from helan.config import Settings
from helan.core.errors import Unauthenticated, ValidationFailed
from helan.core.hashing import hash_password
from helan.core.thing import DeviceDirectory
from helan.security import factors
from helan.security.auth import Authenticator, LoginThrottled
from helan.security.crypto.seal import Sealer
from helan.storage.meta import MetaStore
from helan.storage.meta.models import User

PASSWORD = "correct horse battery"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[MetaStore, Authenticator]]:
    settings = Settings(data_dir=tmp_path / "var")
    (tmp_path / "var").mkdir()
    meta = MetaStore(settings.metadata_url)
    meta.migrate()
    with meta.session() as s:
        for name in ("root", "amy", "bob"):
            s.add(User(username=name, role="platform_admin", password_hash=hash_password(PASSWORD)))
    yield meta, Authenticator(meta, settings, DeviceDirectory.__new__(DeviceDirectory))
    meta.close()


def enrolled(meta: MetaStore, sealer: Sealer, now: datetime) -> tuple[pyotp.TOTP, list[str]]:
    with meta.session() as s:
        uri = factors.enrol(s, "root", sealer)
    totp = pyotp.parse_uri(uri)
    assert isinstance(totp, pyotp.TOTP)
    with meta.session() as s, pytest.raises(ValidationFailed):
        factors.confirm(s, "root", "000000" if totp.at(now) != "000000" else "111111", sealer, now)
    with meta.session() as s:
        codes = factors.confirm(s, "root", totp.at(now), sealer, now)
    return totp, codes


def test_totp_replay_and_recovery_codes(world: tuple[MetaStore, Authenticator]) -> None:
    meta, auth = world
    now = datetime.now(UTC)
    totp, codes = enrolled(meta, auth.sealer, now)
    assert len(codes) == 10
    with meta.session() as s:
        assert factors.has_factor(s, "root")
        # the confirming code was spent: the same step again is refused
        assert not factors.verify_second(s, "root", totp.at(now), auth.sealer, now)
        assert factors.verify_second(s, "root", codes[0], auth.sealer, now)
    with meta.session() as s:
        assert not factors.verify_second(s, "root", codes[0], auth.sealer, now)
        assert not factors.verify_second(s, "root", "12ab", auth.sealer, now)
        assert not factors.verify_second(s, "amy", codes[1], auth.sealer, now)


def test_login_needs_the_second_factor(world: tuple[MetaStore, Authenticator]) -> None:
    meta, auth = world
    now = datetime.now(UTC)
    totp, _ = enrolled(meta, auth.sealer, now)
    with pytest.raises(Unauthenticated) as exc:
        auth.login("root", PASSWORD)
    assert exc.value.code == "mfa_required"
    later = datetime.fromtimestamp(now.timestamp() + 30, UTC)
    code = totp.at(later)
    assert auth.login("root", PASSWORD, otp=code).access_token
    with pytest.raises(Unauthenticated) as exc:
        auth.login("root", PASSWORD, otp=code)  # replayed within its step
    assert exc.value.code == "bad_otp"


def test_one_source_guessing_many_usernames_is_throttled(
    world: tuple[MetaStore, Authenticator],
) -> None:
    _, auth = world
    for i in range(factors.ADDRESS_FAILURES):
        with pytest.raises(Unauthenticated):
            auth.login(f"user{i}", "wrong password", address="203.0.113.9")
    with pytest.raises(LoginThrottled):
        auth.login("bob", PASSWORD, address="203.0.113.9")  # even the right password
    assert auth.login("bob", PASSWORD, address="198.51.100.1").access_token


@pytest.mark.parametrize(
    ("password", "why"),
    [("short1!", "12"), ("amy-is-great-2026", "username"), ("Password1234", "common"),
     ("qwertyuiop", "12"), ("administrator!", "common")],
)  # fmt: skip
def test_password_policy_refuses(password: str, why: str) -> None:
    with pytest.raises(ValidationFailed, match=why):
        factors.check_password("amy", password)


def test_password_policy_accepts_a_good_one() -> None:
    factors.check_password("amy", "涓涓细流 make rivers")
