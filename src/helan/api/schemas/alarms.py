"""Alarm shapes: an alarm, its history, operator actions and the performance report.

Times of alarms are epoch milliseconds (device time for condition changes, the platform's clock
for operator actions), like telemetry; a shelve's ``until`` may be RFC 3339 or epoch ms.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from helan.api.schemas.common import Input, Output

Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
AlarmId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class AlarmOut(Output):
    id: str
    rule_id: str
    rule_version: int
    device: str
    state: str = Field(
        description="normal, unack_active, ack_active, rtn_unack, shelved, suppressed, "
        "out_of_service"
    )
    severity: str
    priority: int = Field(description="1 (most urgent) .. 4")
    message: str
    values: dict[str, Any]
    count: int = Field(description="Activations of this occurrence (repeats are counted)")
    raised_ts: int
    last_change_ts: int
    cleared_ts: int | None
    acknowledged_ts: int | None
    acknowledged_by: str | None
    assigned_to: str | None
    shelved_until: int | None
    escalated: bool
    open: bool


class HistoryOut(Output):
    id: int
    ts_ms: int
    action: str
    from_state: str
    to_state: str
    actor: str
    comment: str | None
    values: dict[str, Any]


class AcknowledgeIn(Input):
    comment: Text | None = None


class CommentIn(Input):
    text: Text


class AssignIn(Input):
    user: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        description="A user of the tenant; null unassigns"
    )


class ShelveIn(Input):
    until: datetime | None = Field(None, description="When the shelve ends (at most 7 days)")
    duration_s: float | None = Field(None, gt=0, description="Or: for how long, in seconds")
    reason: Text


class ClearIn(Input):
    comment: Text = Field(description="Why the alarm is force-closed")


class BulkAcknowledgeIn(Input):
    ids: list[AlarmId] = Field(min_length=1, max_length=1000)
    comment: Text | None = None


class Skipped(Output):
    id: str
    code: str
    message: str


class BulkAcknowledgeOut(Output):
    acknowledged: list[str]
    skipped: list[Skipped]


class ServiceIn(Input):
    in_service: bool
    reason: Text


class ServiceOut(Output):
    rule_id: str
    device: str
    in_service: bool
    reason: str | None
    changed_by: str | None
    changed_at: datetime | None
    alarm: AlarmOut | None


class Rate(Output):
    average: float
    peak: float


class Flood(Output):
    start: int
    end: int
    alarms: int
    peak_per_10min: int


class FloodSummary(Output):
    threshold: int
    periods_in_flood: int
    percent_in_flood: float
    floods: list[Flood]


class Chattering(Output):
    rule_id: str
    device: str
    activations: int
    max_per_minute: int


class Stale(Output):
    alarm_id: str
    rule_id: str
    device: str
    active_since: int
    active_until: int | None
    active_s: int


class Frequent(Output):
    rule_id: str
    device: str
    count: int
    percent: float


class ReportOut(Output):
    start: int
    end: int
    operators: int
    alarms: int = Field(description="Annunciated activations in [start, end)")
    periods: int = Field(description="10-minute periods")
    per_period: list[int] = Field(description="Alarms in each 10-minute period, from start")
    per_operator_per_10min: Rate
    flood: FloodSummary
    chattering: list[Chattering]
    stale: list[Stale]
    top: list[Frequent]
    by_severity: dict[str, int]
    by_priority: dict[str, int]
    targets: dict[str, float]
