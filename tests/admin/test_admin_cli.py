"""``helan admin`` and first-start bootstrap, against a real SQLite database."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helan.admin.bootstrap import bootstrap_admin
from helan.admin.cli import app
from helan.config import Settings
from helan.core.hashing import verify_password
from helan.storage.meta import MetaStore
from helan.storage.meta.directory import MetaDirectory
from helan.storage.meta.models import AuditEntry, User

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HELAN_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("HELAN_ADMIN_PASSWORD", raising=False)
    return tmp_path / "var"


def _meta(data_dir: Path) -> MetaStore:
    return MetaStore(Settings(data_dir=data_dir).metadata_url)


def test_provisioning_commands(data_dir: Path) -> None:
    r = runner.invoke(app, ["create-tenant", "acme", "阿克米", "--uscc", "91350100M000100Y43"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["create-tenant", "acme", "again"])
    assert r.exit_code == 1
    assert "already exists" in r.output
    r = runner.invoke(app, ["create-tenant", "acme2", "x", "--uscc", "91350100M000100Y44"])
    assert r.exit_code == 2
    assert "check character" in r.output
    r = runner.invoke(app, ["create-user", "ops", "--tenant", "acme", "--role", "operator"])
    assert r.exit_code == 0
    assert "password (shown once)" in r.output
    r = runner.invoke(app, ["create-user", "ops2", "--tenant", "nope", "--role", "operator"])
    assert r.exit_code == 1
    assert "tenant 'nope' not found" in r.output
    r = runner.invoke(
        app, ["create-user", "root2", "--role", "platform_admin", "--password", "p" * 12]
    )
    assert r.exit_code == 0
    viewer = ["create-user", "ningxia", "--role", "region_viewer", "--password", "r" * 12]
    r = runner.invoke(app, viewer)
    assert r.exit_code == 2  # a region viewer needs its region
    assert "region" in r.output
    r = runner.invoke(app, [*viewer, "--region", "640000"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["create-device", "acme", "plc-1"])
    assert r.exit_code == 0
    assert "username: plc-1@acme" in r.output
    password = r.output.split("password (shown once): ")[1].split()[0]
    meta = _meta(data_dir)
    try:
        assert MetaDirectory(meta).authenticate("plc-1@acme", password) is not None
        with meta.session() as s:
            assert s.get(User, "root2").role == "platform_admin"  # type: ignore[union-attr]
            assert s.get(User, "ningxia").region == "640000"  # type: ignore[union-attr]
            actions = {a.action for a in s.query(AuditEntry).filter_by(actor="cli")}
        assert actions == {"tenant.create", "user.create", "device.create"}
    finally:
        meta.close()
    r = runner.invoke(app, ["list-tenants"])
    assert r.exit_code == 0
    assert "acme" in r.output
    assert "91350100M000100Y43" in r.output


def test_bootstrap_admin_once_with_password_file(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir)
    meta = MetaStore(settings.metadata_url)
    data_dir.mkdir(parents=True)
    meta.migrate()
    try:
        password = bootstrap_admin(meta, settings)
        assert password
        path = data_dir / "admin-password.txt"
        assert path.read_text().strip() == password
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert bootstrap_admin(meta, settings) is None  # users exist now
        with meta.session() as s:
            admin = s.get(User, "admin")
            assert admin is not None
            assert admin.tenant_id is None
            assert admin.role == "platform_admin"
            assert verify_password(admin.password_hash, password)
    finally:
        meta.close()


def test_bootstrap_admin_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELAN_ADMIN_PASSWORD", "from the environment")
    meta = MetaStore(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    meta.migrate()
    try:
        assert bootstrap_admin(meta) is None
        with meta.session() as s:
            assert verify_password(s.get(User, "admin").password_hash, "from the environment")  # type: ignore[union-attr]
    finally:
        meta.close()
