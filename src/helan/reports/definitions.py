"""Report definitions of a tenant: what a report shows (series, or a dashboard's), over which
range, when it runs (daily, weekly, monthly at an hour of the tenant's time zone) and who
receives it. Every tenant reader may see them and their runs; writers change them. Audited."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import defer

from helan.core import ids
from helan.core.errors import Conflict, NotFound, ValidationFailed
from helan.core.zones import check_zone
from helan.security.audit import audited
from helan.security.principal import Principal
from helan.services.fields import name as check_name
from helan.services.paging import Listing, PageRequest, listing
from helan.storage.meta import MetaStore
from helan.storage.meta.models_console import Dashboard, ReportDefinition, ReportRun

Schedule = Literal["daily", "weekly", "monthly"]
SCHEDULES = ("daily", "weekly", "monthly")
MAX_SERIES = 50
MAX_RECIPIENTS = 50
MAX_RANGE_HOURS = 24 * 366
SORT = {
    "id": ReportDefinition.id,
    "title": ReportDefinition.title_en,
    "updated_at": ReportDefinition.updated_at,
}
RUN_SORT = {"started_at": ReportRun.started_at, "id": ReportRun.id}


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportInput:
    title_zh: str
    title_en: str
    source: dict[str, Any]
    language: str = "zh-CN"
    range_hours: int = 24
    schedule: str | None = None
    hour: int = 6
    timezone: str = "Asia/Shanghai"
    recipients: list[str] = field(default_factory=list)
    enabled: bool = True


def check_source(meta: MetaStore, tenant: str, source: dict[str, Any]) -> dict[str, Any]:
    """``{"series": [{"device", "metric", "label"?}, ...]}`` or ``{"dashboard": id}``."""
    series, dashboard = source.get("series") or [], source.get("dashboard")
    if bool(series) == bool(dashboard):
        raise ValidationFailed("source: give either series or a dashboard, not both or neither")
    if dashboard:
        with meta.session() as s:
            if s.get(Dashboard, (tenant, dashboard)) is None:
                raise ValidationFailed(
                    f"source.dashboard: unknown dashboard {dashboard!r}", code="unknown_reference"
                )
        return {"dashboard": dashboard}
    if len(series) > MAX_SERIES:
        raise ValidationFailed(f"source.series: at most {MAX_SERIES}")
    clean = []
    for i, item in enumerate(series):
        if not isinstance(item, dict) or set(item) - {"device", "metric", "label"}:
            raise ValidationFailed(f"source.series[{i}]: device, metric and an optional label")
        try:
            entry = {
                "device": ids.device_id(item.get("device", "")),
                "metric": ids.metric_name(item.get("metric", "")),
            }
        except ValidationFailed as exc:
            raise ValidationFailed(f"source.series[{i}]: {exc.message}") from None
        if item.get("label"):
            entry["label"] = str(item["label"])[:200]
        clean.append(entry)
    return {"series": clean}


def _check(meta: MetaStore, tenant: str, data: ReportInput) -> dict[str, Any]:
    check_name(data.title_zh)
    check_name(data.title_en)
    if data.language not in ("zh-CN", "en"):
        raise ValidationFailed("language: zh-CN or en")
    if data.schedule is not None and data.schedule not in SCHEDULES:
        raise ValidationFailed(f"schedule: one of {', '.join(SCHEDULES)} (or none)")
    if not 0 <= data.hour <= 23:
        raise ValidationFailed("hour: 0 to 23")
    if not 1 <= data.range_hours <= MAX_RANGE_HOURS:
        raise ValidationFailed(f"range_hours: 1 to {MAX_RANGE_HOURS}")
    try:
        check_zone(data.timezone)
    except ValueError as exc:
        raise ValidationFailed(f"timezone: {exc}") from None
    if len(data.recipients) > MAX_RECIPIENTS:
        raise ValidationFailed(f"recipients: at most {MAX_RECIPIENTS}")
    return check_source(meta, tenant, data.source)


def list_reports(meta: MetaStore, tenant: str, paging: PageRequest) -> Listing[ReportDefinition]:
    stmt = sa.select(ReportDefinition).where(ReportDefinition.tenant_id == tenant)
    return listing(meta, stmt, paging, sort=SORT, default="id", tiebreak=[ReportDefinition.id])


def get_report(meta: MetaStore, tenant: str, report: str) -> ReportDefinition:
    with meta.session() as s:
        row = s.get(ReportDefinition, (tenant, report))
    if row is None:
        raise NotFound(f"report {report!r} not found")
    return row


def _apply(row: ReportDefinition, data: ReportInput, source: dict[str, Any]) -> None:
    row.title_zh, row.title_en, row.language = data.title_zh, data.title_en, data.language
    row.source, row.range_hours, row.schedule = source, data.range_hours, data.schedule
    row.hour, row.timezone, row.enabled = data.hour, data.timezone, data.enabled
    row.recipients = list(dict.fromkeys(data.recipients))


def create_report(
    meta: MetaStore,
    tenant: str,
    data: ReportInput,
    principal: Principal,
    *,
    report: str | None = None,
) -> ReportDefinition:
    key = ids.device_id(report) if report else uuid.uuid4().hex[:12]
    with audited(
        meta, principal, tenant=tenant, action="report.create", object_type="report", object_id=key
    ) as s:
        source = _check(meta, tenant, data)
        if s.get(ReportDefinition, (tenant, key)) is not None:
            raise Conflict(f"report {key!r} already exists")
        row = ReportDefinition(tenant_id=tenant, id=key, owner=principal.subject)
        _apply(row, data, source)
        s.add(row)
        s.flush()
        s.refresh(row)
        return row


def update_report(
    meta: MetaStore, tenant: str, report: str, data: ReportInput, principal: Principal
) -> ReportDefinition:
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="report.update",
        object_type="report",
        object_id=report,
    ) as s:
        source = _check(meta, tenant, data)
        row = s.get(ReportDefinition, (tenant, report))
        if row is None:
            raise NotFound(f"report {report!r} not found")
        _apply(row, data, source)
        s.flush()
        s.refresh(row)
        return row


def delete_report(meta: MetaStore, tenant: str, report: str, principal: Principal) -> None:
    """Its runs and their PDFs go with it."""
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="report.delete",
        object_type="report",
        object_id=report,
    ) as s:
        row = s.get(ReportDefinition, (tenant, report))
        if row is None:
            raise NotFound(f"report {report!r} not found")
        s.execute(
            sa.delete(ReportRun).where(ReportRun.tenant_id == tenant, ReportRun.report_id == report)
        )
        s.delete(row)


def list_runs(meta: MetaStore, tenant: str, report: str, paging: PageRequest) -> Listing[ReportRun]:
    get_report(meta, tenant, report)
    stmt = (
        sa.select(ReportRun)
        .where(ReportRun.tenant_id == tenant, ReportRun.report_id == report)
        .options(defer(ReportRun.pdf))
    )
    return listing(
        meta, stmt, paging, sort=RUN_SORT, default="-started_at", tiebreak=[ReportRun.id]
    )


def get_run(meta: MetaStore, tenant: str, report: str, run: int) -> ReportRun:
    with meta.session() as s:
        row = s.get(ReportRun, run)
        if row is None or row.tenant_id != tenant or row.report_id != report:
            raise NotFound(f"run {run} of report {report!r} not found")
        _ = row.pdf  # loaded before the session closes
        return row
