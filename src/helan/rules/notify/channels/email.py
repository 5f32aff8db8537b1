"""E-mail over SMTP (``HELAN_SMTP_*``): a bilingual subject and body, sent by smtplib in a
thread. The Message-ID is derived from the delivery's key, so a resend after a crash is the
same message to mail clients that fold duplicates."""

from __future__ import annotations

import asyncio
import hashlib
import smtplib
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from helan.config import Settings
from helan.rules.notify.channels import text
from helan.rules.notify.channels.base import ChannelSpec, SendContext, SendFailed
from helan.rules.notify.configs import EmailConfig
from helan.security.crypto.seal import reveal


def message(settings: Settings, recipients: list[str], notice: dict[str, Any]) -> EmailMessage:
    key = str(notice.get("key", ""))
    msg = EmailMessage()
    msg["Subject"] = text.title(notice)
    msg["From"] = settings.smtp_from
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@helan.notify>"
    msg["X-Helan-Idempotency-Key"] = key
    msg.set_content(text.plain(notice))
    return msg


def _send(settings: Settings, msg: EmailMessage, recipients: list[str]) -> None:
    with smtplib.SMTP(
        settings.smtp_host, settings.smtp_port, timeout=settings.notify_timeout_s
    ) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username:
            password = reveal(settings.smtp_password.get_secret_value(), settings)
            smtp.login(settings.smtp_username, password)
        refused = smtp.send_message(msg, to_addrs=recipients)
    if refused:
        raise SendFailed(f"the SMTP server refused {sorted(refused)}")


async def send(ctx: SendContext, channel: ChannelSpec, notice: dict[str, Any]) -> None:
    config = EmailConfig.model_validate(channel.config)
    if not ctx.settings.smtp_host:
        raise SendFailed("no SMTP server: set HELAN_SMTP_HOST", permanent=True)
    msg = message(ctx.settings, config.recipients, notice)
    try:
        await asyncio.to_thread(_send, ctx.settings, msg, config.recipients)
    except (smtplib.SMTPException, OSError) as exc:
        raise SendFailed(f"SMTP: {type(exc).__name__}: {exc}"[:500]) from None
