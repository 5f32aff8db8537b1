"""Secrets held in the configuration may be sealed: ``helan admin seal-secret`` seals one, the
SMTP login uses the opened password against a real SMTP server with AUTH, rotation hands the
operator the value re-sealed under the new key, and a value sealed under a lost key fails
loudly instead of logging in with garbage."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import SecretStr
from tests.conftest import free_port
from typer.testing import CliRunner

from helan.admin.cli import app
from helan.config import Settings
from helan.rules.notify.channels.email import _send
from helan.security.crypto.seal import Sealer, SealError, reveal

runner = CliRunner()
SMTP_PASSWORD = "mail-Pa55word-for-alarms"


class Box:
    def __init__(self) -> None:
        self.logins: list[tuple[str, str]] = []
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages.append(envelope.content)  # type: ignore[attr-defined]
        return "250 OK"


def _check(box: Box):
    def authenticator(server, session, envelope, mechanism, auth_data):
        assert isinstance(auth_data, LoginPassword)
        login = (auth_data.login.decode(), auth_data.password.decode())
        box.logins.append(login)
        return AuthResult(success=login == ("alarms", SMTP_PASSWORD))

    return authenticator


def _seal(data_dir: Path) -> str:
    result = runner.invoke(app, ["seal-secret", "--value", SMTP_PASSWORD])
    assert result.exit_code == 0, result.output
    sealed = result.output.strip().splitlines()[-1]
    assert sealed.startswith("sm4gcm:")
    assert SMTP_PASSWORD not in sealed
    return sealed


def test_sealed_smtp_password_logs_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = tmp_path / "var"
    monkeypatch.setenv("HELAN_DATA_DIR", str(data_dir))
    sealed = _seal(data_dir)
    box = Box()
    port = free_port()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        authenticator=_check(box),
        auth_require_tls=False,
    )
    controller.start()
    try:
        settings = Settings(
            data_dir=data_dir,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_username="alarms",
            smtp_password=SecretStr(sealed),
        )
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "helan@localhost", "ops@example.com", "test"
        msg.set_content("sealed")
        _send(settings, msg, ["ops@example.com"])
    finally:
        controller.stop()
    assert box.logins == [("alarms", SMTP_PASSWORD)]
    assert len(box.messages) == 1


def test_rotation_prints_the_resealed_value_and_old_keys_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "var"
    monkeypatch.setenv("HELAN_DATA_DIR", str(data_dir))
    sealed = _seal(data_dir)
    monkeypatch.setenv("HELAN_SMTP_PASSWORD", sealed)
    result = runner.invoke(app, ["rotate-secrets-key"])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("HELAN_SMTP_PASSWORD="))
    resealed = line.split("=", 1)[1]
    settings = Settings(data_dir=data_dir)
    assert reveal(resealed, settings) == SMTP_PASSWORD
    with pytest.raises(SealError, match="does not hold"):
        reveal(sealed, settings)  # the old key was retired
    assert reveal("plain-text", settings) == "plain-text"


def test_a_tampered_sealed_value_is_refused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    (tmp_path / "var").mkdir()
    sealed = Sealer.from_settings(settings).seal("x" * 20)
    with pytest.raises(SealError, match="authentication"):
        reveal(sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB"), settings)
