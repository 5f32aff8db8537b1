"""Secrets at rest: SM4-GCM sealing with a key ring kept apart from the database; damage and
wrong keys fail clearly; notification channel secrets are sealed in their rows, opened to
send, and re-sealed by ``helan admin rotate-secrets-key``."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from typer.testing import CliRunner

from helan.admin.cli import app
from helan.config import Settings
from helan.rules.notify.configs import open_config, public_config
from helan.rules.notify.service import ChannelInput, create_channel, update_channel
from helan.security.crypto.seal import KEYS_FILE, Sealer, SealError, key_id
from helan.security.principal import Principal, Role
from helan.storage.meta import MetaStore
from helan.storage.meta.models import Tenant
from helan.storage.meta.models_notify import NotificationChannel

K1, K2 = "00112233445566778899aabbccddeeff", "ffeeddccbbaa99887766554433221100"
ADMIN = Principal(kind="user", subject="root", tenant=None, role=Role.PLATFORM_ADMIN)


def ring(*keys: str) -> Sealer:
    return Sealer.from_settings(Settings(secrets_key=SecretStr(",".join(keys))))


def test_round_trip_and_fresh_nonces() -> None:
    s = ring(K1)
    a, b = s.seal("密钥 secret"), s.seal("密钥 secret")
    assert a != b
    assert a.startswith(f"sm4gcm:{key_id(bytes.fromhex(K1))}:")
    assert s.open(a) == s.open(b) == "密钥 secret"


def test_damage_and_wrong_keys_fail_clearly() -> None:
    s = ring(K1)
    sealed = s.seal("hook-secret-0123456789")
    head, _, body = sealed.rpartition(":")
    raw = base64.urlsafe_b64decode(body)
    truncated = f"{head}:{base64.urlsafe_b64encode(raw[:-4]).decode()}"
    with pytest.raises(SealError, match="authentication"):
        s.open(truncated)  # a shorter tag is read as a wrong one
    with pytest.raises(SealError, match="truncated"):
        s.open(f"{head}:{base64.urlsafe_b64encode(raw[:20]).decode()}")
    flipped = raw[:-1] + bytes([raw[-1] ^ 1])
    with pytest.raises(SealError, match="authentication"):
        s.open(f"{head}:{base64.urlsafe_b64encode(flipped).decode()}")
    with pytest.raises(SealError, match="does not hold"):
        ring(K2).open(sealed)
    # the same bytes under another key id: the id is authenticated, so it fails
    other = ring(K2, K1)
    moved = f"sm4gcm:{other.current}:{body}"
    other_keys = Sealer(other.current, {other.current: bytes.fromhex(K1)})
    with pytest.raises(SealError, match="authentication"):
        other_keys.open(moved)
    with pytest.raises(SealError, match="not base64"):
        s.open(f"{head}:***")
    with pytest.raises(SealError):
        ring("abc")


def test_configured_key_list_rotates() -> None:
    old = ring(K1).seal("x")
    both = ring(K2, K1)
    assert both.open(old) == "x"
    assert both.reseal(old).startswith(f"sm4gcm:{both.current}:")


def test_key_file_is_private_and_stable(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    a = Sealer.from_settings(settings)
    b = Sealer.from_settings(settings)
    assert a == b
    assert stat.S_IMODE(os.stat(tmp_path / "var" / KEYS_FILE).st_mode) == 0o600
    (tmp_path / "var" / KEYS_FILE).write_text("{not json")
    with pytest.raises(SealError, match="unreadable"):
        Sealer.from_settings(settings)


@pytest.fixture
def meta(tmp_path: Path) -> MetaStore:
    store = MetaStore(f"sqlite:///{tmp_path / 'var' / 'helan.sqlite3'}")
    (tmp_path / "var").mkdir()
    store.migrate()
    with store.session() as s:
        s.add(Tenant(id="acme", name="Acme"))
    return store


def _row(meta: MetaStore, channel: str) -> dict[str, object]:
    with meta.session() as s:
        row = s.get(NotificationChannel, ("acme", channel))
        assert row is not None
        return dict(row.config)


def resolve(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]  # a public address, without asking DNS


def test_channel_secrets_are_sealed_and_rotated(
    meta: MetaStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    hook = ChannelInput(
        name="hook", kind="webhook",
        config={"url": "https://hooks.example.com/x", "secret": "hook-secret-0123456789"},
    )  # fmt: skip
    create_channel(meta, settings, "acme", hook, ADMIN, channel="hook", resolve=resolve)
    robot_url = "https://oapi.dingtalk.com/robot/send?access_token=tok123"
    ding = ChannelInput(name="ding", kind="dingtalk", config={"url": robot_url})
    create_channel(meta, settings, "acme", ding, ADMIN, channel="ding", resolve=resolve)
    stored, robot = _row(meta, "hook"), _row(meta, "ding")
    assert str(stored["secret"]).startswith("sm4gcm:")
    assert "tok123" not in str(robot)
    sealer = Sealer.from_settings(settings)
    assert open_config(stored, sealer)["secret"] == "hook-secret-0123456789"
    assert open_config(robot, sealer)["url"] == robot_url
    assert "tok123" not in str(public_config("dingtalk", robot))
    # an update that leaves the secret out keeps it
    renamed = ChannelInput(
        name="hook2", kind="webhook", config={"url": "https://hooks.example.com/y"}
    )
    update_channel(meta, settings, "acme", "hook", renamed, ADMIN, resolve=resolve)
    assert open_config(_row(meta, "hook"), sealer)["secret"] == "hook-secret-0123456789"

    monkeypatch.setenv("HELAN_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("HELAN_SECRETS_KEY", raising=False)
    r = CliRunner().invoke(app, ["rotate-secrets-key"])
    assert r.exit_code == 0, r.output
    assert "2 notification channels" in r.output
    new = Sealer.from_settings(settings)
    assert new.current != sealer.current
    assert list(new.keys) == [new.current]  # the old key is retired
    rotated = _row(meta, "hook")
    assert str(rotated["secret"]).startswith(f"sm4gcm:{new.current}:")
    assert open_config(rotated, new)["secret"] == "hook-secret-0123456789"
    assert open_config(_row(meta, "ding"), new)["url"] == robot_url
    with pytest.raises(SealError):
        open_config(rotated, sealer)
    with meta.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(NotificationChannel)) == 2
