"""A report run by e-mail: the message (both titles, the range, the PDF attached) and its
:mod:`smtplib` sender on the ``HELAN_SMTP_*`` settings; without ``HELAN_SMTP_HOST`` the run
keeps its PDF and says why no mail went out. (The notifications of issue 8 will share this
sender.)
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from helan.config import Settings
from helan.security.crypto.seal import reveal

Sender = Callable[[EmailMessage], object]


def report_message(
    *,
    sender: str,
    recipients: list[str],
    title_zh: str,
    title_en: str,
    period: str,
    pdf: bytes,
    filename: str,
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"{title_zh} / {title_en} · {period}"
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="helan")
    message.set_content(
        f"{title_zh}\n{period}\n\n报表见附件（PDF）。\n\n"
        f"{title_en}\n{period}\n\nThe report is attached (PDF).\n"
    )
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
    return message


def smtp_sender(
    host: str,
    port: int = 25,
    *,
    starttls: bool = False,
    username: str | None = None,
    password: str | None = None,
    timeout_s: float = 30.0,
) -> Sender:
    def send(message: EmailMessage) -> None:
        with smtplib.SMTP(host, port, timeout=timeout_s) as smtp:
            if starttls:
                smtp.starttls()
            if username:
                smtp.login(username, password or "")
            smtp.send_message(message)

    return send


def default_sender(settings: Settings) -> Sender | None:
    """The sender on ``HELAN_SMTP_*``; None when no SMTP host is configured."""
    if not settings.smtp_host:
        return None
    return smtp_sender(
        settings.smtp_host,
        settings.smtp_port,
        starttls=settings.smtp_starttls,
        username=settings.smtp_username or None,
        password=reveal(settings.smtp_password.get_secret_value(), settings) or None,
    )


def from_address(settings: Settings) -> str:
    return settings.smtp_from
