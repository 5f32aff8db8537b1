"""``helan audit`` against a real SQLite database in a private data dir: verify exits 1 and
names an edited record, export + offline verify, checkpoint, prune."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from helan.admin.audit_cli import app
from helan.config import Settings
from helan.security import audit
from helan.storage.meta import MetaStore

runner = CliRunner()


@pytest.fixture
def meta(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MetaStore]:
    monkeypatch.setenv("HELAN_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("HELAN_AUDIT_SIGN_KEY", raising=False)
    (tmp_path / "var").mkdir()
    store = MetaStore(Settings(data_dir=tmp_path / "var").metadata_url)
    store.migrate()
    with store.session() as s:
        for i in range(5):
            audit.record(
                s, actor_kind="user", actor="alice", tenant="acme", action="device.create",
                object_type="device", object_id=f"d{i}",
            )  # fmt: skip
    yield store
    store.close()


def test_verify_export_and_offline_check(meta: MetaStore, tmp_path: Path) -> None:
    r = runner.invoke(app, ["checkpoint"])
    assert r.exit_code == 0, r.output
    assert "seq 5" in r.output
    key = tmp_path / "var" / "audit_sign.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    r = runner.invoke(app, ["verify"])
    assert r.exit_code == 0, r.output
    assert "intact" in r.output
    out = tmp_path / "export.jsonl"
    r = runner.invoke(app, ["export", str(out)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["verify", "--file", str(out)])
    assert r.exit_code == 0, r.output
    assert "5 records" in r.output

    with meta.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3"))
    r = runner.invoke(app, ["verify"])
    assert r.exit_code == 1
    assert "record seq 3" in r.output
    assert "NOT intact" in r.output
    # the export made before still verifies; a garbage file is a usage error
    assert runner.invoke(app, ["verify", "--file", str(out)]).exit_code == 0
    out.write_text("{}")
    assert runner.invoke(app, ["verify", "--file", str(out)]).exit_code == 2


def test_prune_keeps_recent_records(meta: MetaStore) -> None:
    r = runner.invoke(app, ["prune"])
    assert r.exit_code == 0, r.output
    assert "0 records" in r.output
    assert runner.invoke(app, ["verify"]).exit_code == 0
