"""Reading alarms: lists with filters, one alarm, its history; and the shape every reader
(the API, the console's live stream) sees an alarm in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from helan.core.errors import NotFound, ValidationFailed
from helan.rules.alarms.states import State
from helan.rules.contracts import Severity
from helan.services.paging import Listing, PageRequest, listing
from helan.storage.meta import MetaStore
from helan.storage.meta.models_alarms import Alarm, AlarmHistory

SORT = {
    "raised_ts": Alarm.raised_ts,
    "last_change_ts": Alarm.last_change_ts,
    "priority": Alarm.priority,
    "count": Alarm.count,
    "state": Alarm.state,
    "device": Alarm.device,
    "rule_id": Alarm.rule_id,
}
HISTORY_SORT = {"id": AlarmHistory.id, "ts_ms": AlarmHistory.ts_ms}


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmFilter:
    """Conditions every listed alarm meets; empty tuples and None filter nothing.
    ``since``/``until`` bound the raise time (epoch ms, ``until`` exclusive)."""

    states: Sequence[str] = ()
    open: bool | None = None
    severities: Sequence[str] = ()
    device: str | None = None
    rule: str | None = None
    since: int | None = None
    until: int | None = None

    def check(self) -> None:
        for name, given, allowed in (
            ("state", self.states, {s.value for s in State}),
            ("severity", self.severities, {s.value for s in Severity}),
        ):
            unknown = sorted(set(given) - allowed)
            if unknown:
                raise ValidationFailed(
                    f"unknown {name} {', '.join(map(repr, unknown))}; "
                    f"allowed: {', '.join(sorted(allowed))}"
                )
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise ValidationFailed("'since' must be before 'until'")


def alarm_dict(row: Alarm) -> dict[str, Any]:
    return {
        "id": row.id,
        "rule_id": row.rule_id,
        "rule_version": row.rule_version,
        "device": row.device,
        "state": row.state,
        "severity": row.severity,
        "priority": row.priority,
        "message": row.message,
        "values": dict(row.values),
        "count": row.count,
        "raised_ts": row.raised_ts,
        "last_change_ts": row.last_change_ts,
        "cleared_ts": row.cleared_ts,
        "acknowledged_ts": row.acknowledged_ts,
        "acknowledged_by": row.acknowledged_by,
        "assigned_to": row.assigned_to,
        "shelved_until": row.shelved_until,
        "escalated": row.escalated,
        "open": row.open,
    }


def list_alarms(
    meta: MetaStore, tenant: str, where: AlarmFilter, paging: PageRequest
) -> Listing[Alarm]:
    where.check()
    stmt = sa.select(Alarm).where(Alarm.tenant_id == tenant)
    if where.states:
        stmt = stmt.where(Alarm.state.in_(list(where.states)))
    if where.open is not None:
        stmt = stmt.where(Alarm.open.is_(where.open))
    if where.severities:
        stmt = stmt.where(Alarm.severity.in_(list(where.severities)))
    if where.device is not None:
        stmt = stmt.where(Alarm.device == where.device)
    if where.rule is not None:
        stmt = stmt.where(Alarm.rule_id == where.rule)
    if where.since is not None:
        stmt = stmt.where(Alarm.raised_ts >= where.since)
    if where.until is not None:
        stmt = stmt.where(Alarm.raised_ts < where.until)
    return listing(meta, stmt, paging, sort=SORT, default="-raised_ts", tiebreak=[Alarm.id])


def get_alarm(meta: MetaStore, tenant: str, alarm_id: str) -> Alarm:
    with meta.session() as s:
        row = s.get(Alarm, alarm_id)
        if row is None or row.tenant_id != tenant:
            raise NotFound(f"alarm {alarm_id!r} not found")
        return row


def alarm_history(
    meta: MetaStore, tenant: str, alarm_id: str, paging: PageRequest
) -> Listing[AlarmHistory]:
    get_alarm(meta, tenant, alarm_id)
    stmt = sa.select(AlarmHistory).where(
        AlarmHistory.tenant_id == tenant, AlarmHistory.alarm_id == alarm_id
    )
    return listing(meta, stmt, paging, sort=HISTORY_SORT, default="id", tiebreak=[AlarmHistory.id])
