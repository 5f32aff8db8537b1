"""The simulated factory's inbox receives real SMTP mail and real webhook POSTs."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path

import httpx
import orjson

from helan.sim.receivers import Inbox


async def test_inbox_keeps_mail_and_webhooks_and_refuses_bad_bodies(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "inbox")
    await inbox.start()
    try:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "helan@demo", "ops@demo", "告警 press-1"
        msg.set_content("设备故障")
        with smtplib.SMTP("127.0.0.1", inbox.smtp_port, timeout=5) as smtp:
            smtp.send_message(msg)
        async with httpx.AsyncClient(timeout=5) as client:
            ok = await client.post(
                inbox.webhook_url, json={"alarm": 1}, headers={"Idempotency-Key": "k1"}
            )
            bad = await client.post(inbox.webhook_url, content=b"{not json")
        assert (ok.status_code, bad.status_code) == (204, 400)
    finally:
        await inbox.stop()
    assert (inbox.mail, inbox.webhooks) == (1, 1)
    mail = orjson.loads((tmp_path / "inbox" / "mail.jsonl").read_bytes())
    assert mail["subject"] == "告警 press-1"
    assert mail["text"].strip() == "设备故障"
    hook = orjson.loads((tmp_path / "inbox" / "webhook.jsonl").read_bytes())
    assert hook["idempotency_key"] == "k1"
    assert hook["body"] == {"alarm": 1}
