"""Report definitions and runs through the real app: bad definitions refused, a run rendered
from stored data and downloaded as PDF with its Chinese title, tenants apart, and the
schedule mailing a due report (once) to a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiosmtpd.controller import Controller

sys.path.insert(0, str(Path(__file__).parents[1] / "api"))
from meta_world import World, world

from helan.reports.mail import smtp_sender
from helan.reports.runs import due_reports, run_due
from helan.storage.meta.models import AuditEntry
from helan.storage.meta.models_console import ReportDefinition
from tests.conftest import free_port
from tests.reports.pdftext import pdf_text

__all__ = ["world"]

BASE = "/api/v1/tenants/acme/reports"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            (
                list(envelope.rcpt_tos),
                email.message_from_bytes(envelope.content, policy=email.policy.default),
            )
        )
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _seed(w: World) -> int:
    now = int(time.time() * 1000)
    rows = [
        {"device": "pump-1", "metric": "temp", "ts": now - i * 60_000, "value": 30.0 + i % 5}
        for i in range(1, 600)
    ]
    r = w.api.client.post(
        "/api/v1/tenants/acme/ingest",
        content=orjson.dumps(rows),
        headers={**w.a.operator, "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    return now


def _definition(**kw: Any) -> dict[str, Any]:
    return {
        "title_zh": "泵房日报",
        "title_en": "Pump room daily",
        "source": {"series": [{"device": "pump-1", "metric": "temp", "label": "出口温度"}]},
        "range_hours": 12,
        "schedule": "daily",
        "hour": 6,
        "recipients": ["shift@example.com", "boss@example.com"],
    } | kw


@pytest.mark.parametrize(
    "body",
    [
        _definition(schedule="hourly"),
        _definition(hour=24),
        _definition(timezone="Mars/Olympus"),
        _definition(recipients=["not an address"]),
        _definition(range_hours=0),
        _definition(source={}),
        _definition(source={"dashboard": "nope"}),
        _definition(source={"series": [{"device": "pump-1", "metric": "1x"}]}),
        _definition(source={"series": [{"device": "a/b", "metric": "t"}]}),
        _definition(title_zh=""),
        _definition(language="fr"),
    ],
)
def test_bad_definitions_are_refused(world: World, body: dict[str, Any]) -> None:
    r = world.api.client.post(BASE, json=body, headers=world.a.operator)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["message"]


def test_run_now_and_download(world: World) -> None:
    _seed(world)
    c = world.api.client
    made = c.post(BASE, json=_definition(id="daily-1"), headers=world.a.operator)
    assert made.status_code == 201, made.text
    assert c.post(BASE, json=_definition(id="daily-1"), headers=world.a.operator).status_code == 409
    assert c.post(f"{BASE}/daily-1/runs", headers=world.a.viewer).status_code == 403
    run = c.post(f"{BASE}/daily-1/runs", headers=world.a.operator)
    assert run.status_code == 201, run.text
    body = run.json()
    assert body["status"] == "ok"
    assert body["pdf_bytes"] > 5_000
    assert body["mailed_to"] == []  # mail only when asked
    pdf = c.get(f"{BASE}/daily-1/runs/{body['id']}/pdf", headers=world.a.viewer)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    text, embedded = pdf_text(pdf.content)
    assert "泵房日报" in text
    assert "出口温度" in text
    assert "°C" in text  # the unit from the thing model
    assert embedded
    runs = c.get(f"{BASE}/daily-1/runs", headers=world.a.viewer).json()
    assert [r["id"] for r in runs["items"]] == [body["id"]]
    # Another tenant sees neither the report nor its PDF.
    other = f"/api/v1/tenants/bolt/reports/daily-1/runs/{body['id']}/pdf"
    assert c.get(other, headers=world.b.viewer).status_code == 404
    assert c.get(f"{BASE}/daily-1/runs/{body['id']}/pdf", headers=world.b.viewer).status_code == 404
    assert c.get(f"{BASE}/daily-1/runs/999999/pdf", headers=world.a.viewer).status_code == 404
    # Asked to mail without any SMTP sender: the PDF is kept, the run says why.
    unsent = c.post(f"{BASE}/daily-1/runs?mail=true", headers=world.a.operator).json()
    assert unsent["status"] == "mail_failed"
    assert "no SMTP" in unsent["error"]
    assert unsent["pdf_bytes"] > 0
    with world.api.platform.meta.session() as s:
        actions = [e.action for e in s.query(AuditEntry).filter(AuditEntry.object_id == "daily-1")]
    assert actions.count("report.run") == 2
    assert "report.create" in actions


def test_english_report_from_a_dashboard(world: World) -> None:
    c = world.api.client
    spec = {
        "widgets": [
            {
                "id": "g",
                "type": "gauge",
                "x": 0,
                "y": 0,
                "w": 4,
                "h": 3,
                "config": {"device": "pump-1", "metric": "temp"},
            }
        ]
    }
    board = c.post(
        "/api/v1/tenants/acme/dashboards",
        json={"id": "rep-board", "title": "b", "spec": spec},
        headers=world.a.operator,
    )
    assert board.status_code == 201, board.text
    body = _definition(id="from-board", language="en", source={"dashboard": "rep-board"})
    assert c.post(BASE, json=body, headers=world.a.operator).status_code == 201
    run = c.post(f"{BASE}/from-board/runs", headers=world.a.operator).json()
    pdf = c.get(f"{BASE}/from-board/runs/{run['id']}/pdf", headers=world.a.viewer)
    text, _ = pdf_text(pdf.content)
    assert "Pump room daily" in text
    assert "Pump 1 (pump-1)" in text
    assert "Average" in text


def test_scheduled_report_is_mailed_once(world: World, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    _seed(world)
    c = world.api.client
    body = _definition(id="mailed", hour=datetime.now(UTC).hour, timezone="UTC")
    assert c.post(BASE, json=body, headers=world.a.operator).status_code == 201
    platform = world.api.platform
    meta = platform.meta
    with meta.session() as s:  # made "yesterday", so today's due time is after it
        row = s.get(ReportDefinition, ("acme", "mailed"))
        assert row is not None
        row.created_at = datetime.now(UTC) - timedelta(days=1)
    send = smtp_sender("127.0.0.1", port)
    now = datetime.now(UTC)
    assert any(d.id == "mailed" for d, _ in due_reports(meta, now))
    ran = asyncio.run(run_due(meta, platform.telemetry, platform.settings, now=now, sender=send))
    assert ran >= 1
    assert not any(d.id == "mailed" for d, _ in due_reports(meta, now))  # once per due time
    assert (
        asyncio.run(run_due(meta, platform.telemetry, platform.settings, now=now, sender=send)) == 0
    )
    mails = [m for m in inbox.messages if "Pump room daily" in str(m[1]["Subject"])]
    assert len(mails) == 1
    rcpt, message = mails[0]
    assert sorted(rcpt) == ["boss@example.com", "shift@example.com"]
    assert "泵房日报" in str(message["Subject"])
    attachments = [p for p in message.walk() if p.get_content_type() == "application/pdf"]
    assert len(attachments) == 1
    text, _ = pdf_text(attachments[0].get_payload(decode=True))
    assert "泵房日报" in text
    runs = c.get(f"{BASE}/mailed/runs", headers=world.a.viewer).json()["items"]
    assert runs[0]["trigger"] == "schedule"
    assert sorted(runs[0]["mailed_to"]) == ["boss@example.com", "shift@example.com"]


def test_unreachable_smtp_keeps_the_pdf(world: World) -> None:
    c = world.api.client
    assert c.post(BASE, json=_definition(id="bounce"), headers=world.a.operator).status_code == 201
    platform = world.api.platform
    from helan.reports import definitions
    from helan.reports.runs import execute_run

    d = definitions.get_report(platform.meta, "acme", "bounce")
    run = execute_run(
        platform.meta,
        platform.telemetry,
        platform.settings,
        d,
        end=datetime.now(UTC),
        trigger="manual",
        actor=("user", "t"),
        sender=smtp_sender("127.0.0.1", free_port(), timeout_s=2),
    )
    assert run.status == "mail_failed"
    assert run.pdf_bytes > 0
    assert run.error is not None
    assert run.error.startswith("mail:")


def test_the_sender_comes_from_the_smtp_settings() -> None:
    from helan.config import Settings
    from helan.reports.mail import default_sender, from_address

    assert default_sender(Settings(smtp_host="")) is None
    configured = Settings(smtp_host="127.0.0.1", smtp_port=2525, smtp_from="reports@acme")
    assert default_sender(configured) is not None
    assert from_address(configured) == "reports@acme"
