"""What the rule engine, the alarms and the notifications hand each other.

The engine turns committed data into :class:`ConditionChange` (a rule's condition became true
or false for one device at one time); the alarms turn those into alarm state and, for each
transition a rule wants announced, an :class:`AlarmNotice`; the notifications deliver notices
on the rule's channels. Each step is idempotent by its key, so a replay after a crash repeats
nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class Severity(StrEnum):
    """IEC 62682 priorities, most urgent first."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True, slots=True, kw_only=True)
class ConditionChange:
    """Rule ``rule_id`` (at ``rule_version``) became ``active`` (or returned to normal) for
    ``device`` at device time ``ts_ms``. Key: (tenant, rule_id, device, ts_ms, active).

    ``values`` are the metric values that decided it (shown in the alarm and its notices);
    ``historical``: decided on backfilled data (no notification unless the rule asks);
    ``committed_ms``: when the triggering data was committed (alarm latency is measured from
    it)."""

    tenant: str
    rule_id: str
    rule_version: int
    device: str
    active: bool
    ts_ms: int
    severity: Severity
    message: str
    values: dict[str, float | bool | str | None] = field(default_factory=dict)
    historical: bool = False
    notify_historical: bool = False
    suppressed: bool = False  # the rule's suppression condition held (e.g. maintenance)
    committed_ms: int = 0


class ConditionSink(Protocol):
    """Where the engine sends condition changes (the alarm service). ``apply`` is called in
    per-device time order; applying a change twice has the effect of applying it once."""

    def apply(self, changes: Sequence[ConditionChange]) -> None: ...


class NoticeKind(StrEnum):
    RAISED = "raised"
    CLEARED = "cleared"  # returned to normal
    ESCALATED = "escalated"  # unacknowledged for longer than the rule allows
    ACKNOWLEDGED = "acknowledged"


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmNotice:
    """One alarm transition to announce on ``channels`` (channel ids of the tenant).
    ``key`` is unique per transition (the idempotency key receivers see)."""

    key: str
    tenant: str
    alarm_id: str
    rule_id: str
    device: str
    kind: NoticeKind
    severity: Severity
    message: str
    ts_ms: int
    channels: tuple[str, ...]
    values: dict[str, float | bool | str | None] = field(default_factory=dict)
    committed_ms: int = 0


class NoticeSink(Protocol):
    """Where the alarms send notices (the notification outbox). ``enqueue`` adds them in the
    caller's session, so an alarm's transition and its notices commit together (a transactional
    outbox); enqueuing a key again is a no-op."""

    def enqueue(self, session: Session, notices: Sequence[AlarmNotice]) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmPolicy:
    """What a rule asks of its alarms: the channels to announce each kind of transition on,
    and after how long an unacknowledged active alarm escalates (None: never)."""

    notify: dict[NoticeKind, tuple[str, ...]] = field(default_factory=dict)
    escalate_after_s: float | None = None


class PolicySource(Protocol):
    """The current policy of a tenant's rule (the rule store); None for a rule deleted since."""

    def policy(self, tenant: str, rule_id: str) -> AlarmPolicy | None: ...
