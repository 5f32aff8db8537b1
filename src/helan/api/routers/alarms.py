"""Alarms: list, read, history, operator actions (acknowledge, comment, assign, shelve,
unshelve, clear; bulk acknowledge), out of service per (rule, device), and the ISA-18.2
performance report. The lifecycle is :mod:`helan.rules.alarms`'; this router only shapes it
for HTTP. Viewers read; operators and administrators act (each action audited)."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from helan.api.deps import Meta, Paging, Reader, Writer
from helan.api.routers.telemetry import TimeParam, parse_time
from helan.api.schemas.alarms import (
    AcknowledgeIn,
    AlarmOut,
    AssignIn,
    BulkAcknowledgeIn,
    BulkAcknowledgeOut,
    ClearIn,
    CommentIn,
    HistoryOut,
    ReportOut,
    ServiceIn,
    ServiceOut,
    ShelveIn,
    Skipped,
)
from helan.api.schemas.common import Page
from helan.core.errors import HelanError, ValidationFailed
from helan.rules.alarms import AlarmService
from helan.rules.alarms.queries import (
    AlarmFilter,
    alarm_dict,
    alarm_history,
    get_alarm,
    list_alarms,
)
from helan.rules.alarms.report import performance_report

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["alarms"])

DAY_MS = 86_400_000


class AlarmsUnavailable(HelanError):
    code = "alarms_unavailable"
    status = 503


def get_service(request: Request) -> AlarmService:
    """The platform's alarm service (``platform.alarms``), or one set on the app's state."""
    service = getattr(request.app.state, "alarms", None)
    if service is None:
        service = getattr(request.app.state.platform, "alarms", None)
    if not isinstance(service, AlarmService):
        raise AlarmsUnavailable("the alarm service is not running in this process")
    return service


Service = Annotated[AlarmService, Depends(get_service)]
StateQuery = Annotated[
    list[str],
    Query(
        description="normal, unack_active, ack_active, rtn_unack, shelved, suppressed, "
        "out_of_service (repeatable)"
    ),
]
SeverityQuery = Annotated[list[str], Query(description="critical, high, medium, low (repeatable)")]


@router.get("/alarms")
def list_(
    tenant: str,
    _: Reader,
    meta: Meta,
    paging: Annotated[Paging, Depends()],
    state: StateQuery = [],  # noqa: B006 (FastAPI copies query defaults)
    open: Annotated[bool | None, Query(description="Open (true) or closed (false) only")] = None,
    severity: SeverityQuery = [],  # noqa: B006
    device: Annotated[str | None, Query(max_length=64)] = None,
    rule: Annotated[str | None, Query(max_length=64)] = None,
    since: TimeParam = None,
    until: TimeParam = None,
) -> Page[AlarmOut]:
    """Newest first by default; ``since``/``until`` bound the raise time. Sort by
    raised_ts, last_change_ts, priority, count, state, device or rule_id."""
    where = AlarmFilter(
        states=state,
        open=open,
        severities=severity,
        device=device,
        rule=rule,
        since=parse_time("since", since, 0) if since else None,
        until=parse_time("until", until, 0) if until else None,
    )
    found = list_alarms(meta, tenant, where, paging)
    items = [AlarmOut(**alarm_dict(r)) for r in found.rows]
    return Page(items=items, total=found.total, limit=paging.limit, offset=paging.offset)


@router.get("/alarms:report")
def report(
    tenant: str,
    _: Reader,
    meta: Meta,
    start: TimeParam = None,
    end: TimeParam = None,
    operators: Annotated[int, Query(ge=1, le=1000, description="Operators sharing them")] = 1,
) -> ReportOut:
    """ISA-18.2 alarm-system performance over ``[start, end)`` (default: the last 24 h; at
    most 90 days): alarms per operator per 10 minutes, floods, chattering and stale alarms,
    the 10 most frequent, counts by severity and priority, and the targets."""
    end_ms = parse_time("end", end, time.time_ns() // 1_000_000)
    start_ms = parse_time("start", start, end_ms - DAY_MS)
    return ReportOut(**performance_report(meta, tenant, start_ms, end_ms, operators))


@router.post("/alarms:acknowledge")
def acknowledge_many(
    tenant: str, body: BulkAcknowledgeIn, principal: Writer, service: Service
) -> BulkAcknowledgeOut:
    """Up to 1000 alarms in one transaction; each one not acknowledged says why."""
    done = service.acknowledge_many(tenant, body.ids, principal, body.comment)
    skipped = [Skipped(**s) for s in done.skipped]
    return BulkAcknowledgeOut(acknowledged=done.acknowledged, skipped=skipped)


@router.get("/alarms/{alarm_id}")
def get(tenant: str, alarm_id: str, _: Reader, meta: Meta) -> AlarmOut:
    return AlarmOut(**alarm_dict(get_alarm(meta, tenant, alarm_id)))


@router.get("/alarms/{alarm_id}/history")
def history(
    tenant: str, alarm_id: str, _: Reader, meta: Meta, paging: Annotated[Paging, Depends()]
) -> Page[HistoryOut]:
    """Every transition and operator action, oldest first (sort: id, ts_ms)."""
    found = alarm_history(meta, tenant, alarm_id, paging)
    items = [HistoryOut.model_validate(r) for r in found.rows]
    return Page(items=items, total=found.total, limit=paging.limit, offset=paging.offset)


@router.post("/alarms/{alarm_id}:acknowledge")
def acknowledge(
    tenant: str,
    alarm_id: str,
    principal: Writer,
    service: Service,
    body: AcknowledgeIn | None = None,
) -> AlarmOut:
    """409 ``illegal_transition`` unless the alarm is unacknowledged."""
    comment = body.comment if body is not None else None
    return AlarmOut(**service.acknowledge(tenant, alarm_id, principal, comment))


@router.post("/alarms/{alarm_id}:comment")
def comment(
    tenant: str, alarm_id: str, body: CommentIn, principal: Writer, service: Service
) -> AlarmOut:
    return AlarmOut(**service.comment(tenant, alarm_id, principal, body.text))


@router.post("/alarms/{alarm_id}:assign")
def assign(
    tenant: str, alarm_id: str, body: AssignIn, principal: Writer, service: Service
) -> AlarmOut:
    return AlarmOut(**service.assign(tenant, alarm_id, principal, body.user))


@router.post("/alarms/{alarm_id}:shelve")
def shelve(
    tenant: str, alarm_id: str, body: ShelveIn, principal: Writer, service: Service
) -> AlarmOut:
    """Give ``until`` or ``duration_s`` (at most 7 days) and a reason."""
    if body.until is not None and body.until.tzinfo is None:
        raise ValidationFailed("until needs a UTC offset (e.g. 'Z')")
    until_ms = int(body.until.timestamp() * 1000) if body.until is not None else None
    out = service.shelve(
        tenant,
        alarm_id,
        principal,
        reason=body.reason,
        until_ms=until_ms,
        duration_s=body.duration_s,
    )
    return AlarmOut(**out)


@router.post("/alarms/{alarm_id}:unshelve")
def unshelve(tenant: str, alarm_id: str, principal: Writer, service: Service) -> AlarmOut:
    return AlarmOut(**service.unshelve(tenant, alarm_id, principal))


@router.post("/alarms/{alarm_id}:clear")
def clear(
    tenant: str, alarm_id: str, body: ClearIn, principal: Writer, service: Service
) -> AlarmOut:
    """Force-close an open alarm; the comment (required) says why."""
    return AlarmOut(**service.clear(tenant, alarm_id, principal, body.comment))


@router.put("/alarm-service/{rule_id}/{device}")
def set_service(
    tenant: str, rule_id: str, device: str, body: ServiceIn, principal: Writer, service: Service
) -> ServiceOut:
    """Take a rule's alarms on a device out of service (``in_service: false``) or return them.
    Out of service, nothing is annunciated; the flag stays until it is returned."""
    out = service.set_service(
        tenant, rule_id, device, principal, in_service=body.in_service, reason=body.reason
    )
    return ServiceOut(**out)
