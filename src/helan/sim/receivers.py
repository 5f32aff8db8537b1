"""The simulated factory's inbox: an SMTP server and a webhook receiver on loopback, so that
``make run`` shows its alarms' e-mails and webhooks arriving without any outside service.

Each message received is appended as one JSON line to ``<data dir>/sim-inbox/mail.jsonl`` or
``webhook.jsonl`` and logged; :attr:`Inbox.mail` and :attr:`Inbox.webhooks` count them.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import logging
import time
from pathlib import Path
from typing import Any

import orjson
import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from helan.core.tasks import cancel

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
WEBHOOK_PATH = "/hooks/alarms"
MAX_BODY = 1 << 20


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Inbox:
    """Started and stopped with the simulated factory."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.mail = 0
        self.webhooks = 0
        self.smtp_port = _free_port()
        self.http_port = _free_port()
        self._smtp: Controller | None = None
        self._http: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def webhook_url(self) -> str:
        return f"http://{HOST}:{self.http_port}{WEBHOOK_PATH}"

    def _keep(self, kind: str, record: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / f"{kind}.jsonl").open("ab") as f:
            f.write(orjson.dumps(record) + b"\n")

    async def start(self) -> None:
        inbox = self

        class Handler:
            async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
                raw = envelope.content if isinstance(envelope.content, bytes) else b""
                msg = email.message_from_bytes(raw, policy=email.policy.default)
                body = msg.get_body(("plain",))
                inbox.mail += 1
                inbox._keep(
                    "mail",
                    {
                        "received_ms": time.time_ns() // 1_000_000,
                        "from": envelope.mail_from,
                        "to": list(envelope.rcpt_tos),
                        "subject": str(msg.get("Subject", "")),
                        "text": body.get_content() if body is not None else "",
                    },
                )
                log.info("sim inbox: e-mail %r to %s", msg.get("Subject"), envelope.rcpt_tos)
                return "250 OK"

        self._smtp = Controller(Handler(), hostname=HOST, port=self.smtp_port)
        self._smtp.start()

        async def hook(request: Request) -> Response:
            body = await request.body()
            if len(body) > MAX_BODY:
                return Response(status_code=413)
            try:
                payload = orjson.loads(body)
            except orjson.JSONDecodeError:
                return Response("body is not JSON", status_code=400)
            self.webhooks += 1
            self._keep(
                "webhook",
                {
                    "received_ms": time.time_ns() // 1_000_000,
                    "idempotency_key": request.headers.get("idempotency-key"),
                    "body": payload,
                },
            )
            log.info("sim inbox: webhook %s", request.headers.get("idempotency-key"))
            return Response(status_code=204)

        app = Starlette(routes=[Route(WEBHOOK_PATH, hook, methods=["POST"])])
        config = uvicorn.Config(
            app, host=HOST, port=self.http_port, log_level="warning", lifespan="off"
        )
        self._http = uvicorn.Server(config)
        self._task = asyncio.create_task(self._http.serve(), name="helan-sim-inbox")
        while not self._http.started and not self._task.done():  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._http is not None and self._task is not None:
            self._http.should_exit = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._task), 5)
        await cancel(self._task)
        if self._smtp is not None:
            self._smtp.stop()
        self._smtp = self._http = self._task = None
