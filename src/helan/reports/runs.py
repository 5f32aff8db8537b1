"""Running a report: render its PDF for a range, keep it (``report_runs``), mail it to the
recipients; and the schedule that decides which runs are due.

Why the schedule is computed, not one cron job per report: definitions change while the
platform runs, and a platform that was down at 06:00 should still send the morning's report
once it is back. So one job looks every few minutes for each enabled report's latest due time
(the last 06:00, the last Monday 06:00, the 1st of this month 06:00 in the report's time
zone) and runs it if no scheduled run covers it yet; a due time before the report existed is
not caught up. Several processes with the job may render a run twice in a race; run it in one
role (the lead wires it where the scheduler's platform jobs run).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from helan.config import Settings
from helan.core.errors import HelanError, NotFound
from helan.jobs.spec import Cron, JobSpec
from helan.reports.mail import Sender, default_sender, from_address, report_message
from helan.reports.pdf import render_pdf
from helan.reports.render import build_document
from helan.security.audit import record
from helan.storage.meta import MetaStore
from helan.storage.meta.models_console import ReportDefinition, ReportRun
from helan.storage.telemetry.base import TelemetryStore

log = logging.getLogger(__name__)

DUE_CHECK = Cron(expression="*/5 * * * *")


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def last_due(schedule: str, hour: int, timezone: str, now: datetime) -> datetime:
    """The latest scheduled time at or before ``now`` (aware), in UTC."""
    local = now.astimezone(ZoneInfo(timezone))
    at = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if schedule == "daily":
        if at > local:
            at -= timedelta(days=1)
    elif schedule == "weekly":
        at -= timedelta(days=at.weekday())
        if at > local:
            at -= timedelta(days=7)
    elif schedule == "monthly":
        at = at.replace(day=1)
        if at > local:
            previous = at - timedelta(days=1)
            at = previous.replace(day=1)
    else:
        raise ValueError(f"unknown schedule {schedule!r}")
    # Re-attach the zone after the arithmetic (a DST change between the two dates).
    naive = at.replace(tzinfo=None)
    return naive.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def execute_run(
    meta: MetaStore,
    telemetry: TelemetryStore,
    settings: Settings,
    definition: ReportDefinition,
    *,
    end: datetime,
    trigger: str,
    actor: tuple[str, str],
    sender: Sender | None = None,
    mail: bool = True,
) -> ReportRun:
    """Render, keep and (``mail``) send one run; blocks, so the callers use a thread. A failure
    to render is recorded on the run (``failed``) and raised; a failure to mail leaves the PDF
    kept and the run ``mail_failed``."""
    start = end - timedelta(hours=definition.range_hours)
    with meta.session() as s:
        run = ReportRun(
            tenant_id=definition.tenant_id,
            report_id=definition.id,
            trigger=trigger,
            status="running",
            range_start=start,
            range_end=end,
        )
        s.add(run)
        s.flush()
        run_id = run.id
    status, error, pdf, mailed = "ok", None, None, []
    failure: Exception | None = None
    try:
        doc = build_document(
            meta, telemetry, definition, _ms(start), _ms(end), _ms(datetime.now(UTC))
        )
        pdf = render_pdf(doc)
    except Exception as exc:
        status, error, failure = "failed", f"render: {exc}"[:2000], exc
        log.exception("report %s/%s: render failed", definition.tenant_id, definition.id)
    if pdf is not None and mail and definition.recipients:
        send = sender if sender is not None else default_sender(settings)
        if send is None:
            status, error = "mail_failed", "mail: no SMTP sender configured"
        else:
            tz = ZoneInfo(definition.timezone)
            period = f"{start.astimezone(tz):%Y-%m-%d %H:%M} – {end.astimezone(tz):%Y-%m-%d %H:%M}"
            message = report_message(
                sender=from_address(settings),
                recipients=list(definition.recipients),
                title_zh=definition.title_zh,
                title_en=definition.title_en,
                period=period,
                pdf=pdf,
                filename=f"{definition.id}-{end.astimezone(tz):%Y%m%d-%H%M}.pdf",
            )
            try:
                send(message)
                mailed = list(definition.recipients)
            except Exception as exc:  # SMTP refusals, DNS, timeouts: the PDF stays
                status, error = "mail_failed", f"mail: {exc}"[:2000]
                log.exception("report %s/%s: mail failed", definition.tenant_id, definition.id)
    with meta.session() as s:
        row = s.get(ReportRun, run_id)
        if row is None:  # the report was deleted while this run rendered
            raise NotFound(f"report {definition.id!r} was deleted during its run")
        row.status, row.error, row.pdf = status, error, pdf
        row.pdf_bytes, row.mailed_to = len(pdf or b""), mailed
        row.finished_at = datetime.now(UTC)
        record(
            s,
            actor_kind=actor[0],
            actor=actor[1],
            tenant=definition.tenant_id,
            action="report.run",
            object_type="report",
            object_id=definition.id,
            result=status,
            detail={"run": run_id, "trigger": trigger, "mailed": len(mailed)},
        )
        s.flush()
        s.refresh(row)
        s.expunge(row)
    if isinstance(failure, HelanError):
        raise failure  # e.g. no CJK font: its own status (503) and message
    if failure is not None:
        raise HelanError(error or "report failed", code="report_failed") from failure
    return row


def due_reports(meta: MetaStore, now: datetime) -> list[tuple[ReportDefinition, datetime]]:
    """Enabled scheduled reports whose latest due time has no scheduled run yet."""
    with meta.session() as s:
        definitions = s.scalars(
            sa.select(ReportDefinition).where(
                ReportDefinition.enabled.is_(True), ReportDefinition.schedule.is_not(None)
            )
        ).all()
        due = []
        for d in definitions:
            if d.schedule is None:
                continue
            at = last_due(d.schedule, d.hour, d.timezone, now)
            if at < d.created_at:
                continue
            done = s.scalar(
                sa.select(sa.func.count()).where(
                    ReportRun.tenant_id == d.tenant_id,
                    ReportRun.report_id == d.id,
                    ReportRun.trigger == "schedule",
                    ReportRun.range_end == at,
                )
            )
            if not done:
                due.append((d, at))
    return due


async def run_due(
    meta: MetaStore,
    telemetry: TelemetryStore,
    settings: Settings,
    *,
    now: datetime | None = None,
    sender: Sender | None = None,
) -> int:
    """Run every due report, one at a time in a worker thread; returns how many ran. One
    report's failure is logged and does not stop the others."""
    due = await asyncio.to_thread(due_reports, meta, now or datetime.now(UTC))
    ran = 0
    for definition, at in due:
        try:
            await asyncio.to_thread(
                execute_run,
                meta,
                telemetry,
                settings,
                definition,
                end=at,
                trigger="schedule",
                actor=("system", "scheduler"),
                sender=sender,
            )
            ran += 1
        except Exception:
            log.exception("scheduled report %s/%s failed", definition.tenant_id, definition.id)
    return ran


def report_jobs(meta: MetaStore, telemetry: TelemetryStore, settings: Settings) -> list[JobSpec]:
    """The scheduler's job for scheduled reports (every five minutes, see the module doc)."""

    async def run() -> None:
        await run_due(meta, telemetry, settings)

    return [JobSpec(id="reports.scheduled", trigger=DUE_CHECK, run=run)]
