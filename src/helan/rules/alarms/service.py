"""The alarm service: condition changes in, alarm state, history and notices out.

It is the engine's :class:`~helan.rules.contracts.ConditionSink`. Each ``apply`` is one
transaction: the alarms it moves, their history rows and the notices their rules ask for
(through the transactional outbox, :class:`~helan.rules.contracts.NoticeSink`) commit together
or not at all. Each (rule, device) pair remembers the time of the last change applied to it and
ignores anything not newer, so a replay after a restart raises nothing twice.

Operator actions (acknowledge, comment, assign, shelve, clear, out of service) are audited
with the caller and go through the same state machine (:mod:`helan.rules.alarms.states`);
``tick`` runs what time alone decides: shelves that expire and alarms that escalate. After each
commit ``on_change`` hears every alarm that changed (the console's live stream).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from helan.core.errors import HelanError, NotFound, ValidationFailed
from helan.rules.alarms.queries import alarm_dict
from helan.rules.alarms.states import (
    ACTIVATIONS,
    SILENT,
    Event,
    IllegalTransition,
    Outcome,
    State,
    priority_of,
    transition,
)
from helan.rules.contracts import (
    AlarmNotice,
    AlarmPolicy,
    ConditionChange,
    NoticeKind,
    NoticeSink,
    PolicySource,
    Severity,
)
from helan.security.audit import audited
from helan.security.principal import Principal
from helan.storage.meta import MetaStore
from helan.storage.meta.models import Device, User, utcnow
from helan.storage.meta.models_alarms import Alarm, AlarmHistory, AlarmPair

__all__ = ["MAX_BULK", "MAX_SHELVE_S", "AlarmService", "BulkResult"]

log = logging.getLogger(__name__)

MAX_SHELVE_S = 7 * 24 * 3600  # a shelved alarm is never forgotten for longer than a week
MAX_BULK = 1000
MAX_TEXT = 2000
ENGINE = "rules"  # the actor of condition changes in the history
SYSTEM = "system"  # the actor of what time decides (expiry, escalation)
_CHUNK = 400  # keys per IN (...) query
RETRIES = 3
_T = TypeVar("_T")

Key = tuple[str, str, str]  # tenant, rule, device
OnChange = Callable[[str, dict[str, Any]], None]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _text(what: str, value: str | None, *, required: bool) -> str | None:
    text = value.strip() if value is not None else None
    if not text:
        if required:
            raise ValidationFailed(f"{what} is required (1..{MAX_TEXT} characters)")
        return None
    if len(text) > MAX_TEXT:
        raise ValidationFailed(f"{what} may have at most {MAX_TEXT} characters")
    return text


@dataclass(frozen=True, slots=True)
class BulkResult:
    acknowledged: list[str]
    skipped: list[dict[str, str]]  # id, code, message


@dataclass
class _Batch:
    """What one transaction changed: alarms to report after commit, notices to enqueue."""

    changed: dict[str, Alarm] = field(default_factory=dict)
    notices: list[AlarmNotice] = field(default_factory=list)
    policies: dict[tuple[str, str], AlarmPolicy | None] = field(default_factory=dict)


class AlarmService:
    def __init__(
        self,
        meta: MetaStore,
        notices: NoticeSink,
        policies: PolicySource,
        on_change: OnChange | None = None,
        *,
        clock: Callable[[], int] = _now_ms,
    ) -> None:
        self.meta = meta
        self.notices = notices
        self.policies = policies
        self.on_change = on_change
        self.clock = clock  # wall-clock epoch ms, for operator actions

    # --- the engine's side ------------------------------------------------------------------

    def apply(self, changes: Sequence[ConditionChange]) -> None:
        """Apply condition changes (per device in time order) in one transaction. A lost
        race for a lock (SQLite busy, a PostgreSQL deadlock) is retried: applying is
        idempotent, so a retry repeats nothing that committed."""
        if changes:
            self._retry(lambda: self._apply(changes))

    def _apply(self, changes: Sequence[ConditionChange]) -> None:
        batch = _Batch()
        with self.meta.session() as s:
            keys = {(c.tenant, c.rule_id, c.device) for c in changes}
            pairs, alarms = self._load_pairs(s, keys)
            for change in changes:
                key = (change.tenant, change.rule_id, change.device)
                pair = pairs.get(key)
                if pair is None:
                    pair = AlarmPair(
                        tenant_id=change.tenant,
                        rule_id=change.rule_id,
                        device=change.device,
                        active=False,
                        in_service=True,
                    )
                    s.add(pair)
                    pairs[key] = pair
                if pair.last_ts_ms is not None and change.ts_ms <= pair.last_ts_ms:
                    continue  # applied before (a replay) or out of order
                pair.last_ts_ms = change.ts_ms
                pair.active = change.active
                alarms[key] = self._condition(s, batch, pair, alarms.get(key), change)
            self._enqueue(s, batch)
        self._emit(batch)

    def _retry(self, work: Callable[[], _T]) -> _T:
        for attempt in range(1, RETRIES + 1):
            try:
                return work()
            except sa.exc.OperationalError:
                if attempt == RETRIES:
                    raise
                log.warning("alarm transaction lost a lock race; retrying (%d)", attempt)
                time.sleep(0.05 * attempt)
        raise AssertionError("unreachable")

    def _load_pairs(
        self, s: Session, keys: Iterable[Key]
    ) -> tuple[dict[Key, AlarmPair], dict[Key, Alarm | None]]:
        pairs: dict[Key, AlarmPair] = {}
        alarms: dict[Key, Alarm | None] = {}
        wanted = list(keys)
        for i in range(0, len(wanted), _CHUNK):
            chunk = wanted[i : i + _CHUNK]
            pk = sa.tuple_(AlarmPair.tenant_id, AlarmPair.rule_id, AlarmPair.device)
            for pair in s.scalars(sa.select(AlarmPair).where(pk.in_(chunk))):
                pairs[(pair.tenant_id, pair.rule_id, pair.device)] = pair
            ak = sa.tuple_(Alarm.tenant_id, Alarm.rule_id, Alarm.device)
            stmt = (
                sa.select(Alarm)
                .where(Alarm.open.is_(True), ak.in_(chunk))
                .order_by(Alarm.id)  # one lock order everywhere: no deadlock between writers
                .with_for_update()
            )
            for row in s.scalars(stmt):
                alarms[(row.tenant_id, row.rule_id, row.device)] = row
        return pairs, alarms

    def _condition(
        self, s: Session, batch: _Batch, pair: AlarmPair, row: Alarm | None, c: ConditionChange
    ) -> Alarm | None:
        """One condition change on one pair; returns the pair's open alarm afterwards."""
        if c.active:
            event = Event.ACTIVE_SUPPRESSED if c.suppressed else Event.ACTIVE
        else:
            event = Event.RTN
        if row is None:
            if not c.active:
                return None  # nothing open: a return to normal changes nothing
            row = Alarm(
                id=uuid.uuid4().hex,
                tenant_id=c.tenant,
                rule_id=c.rule_id,
                device=c.device,
                state=State.NORMAL.value,
                open=True,
                count=0,
                raised_ts=c.ts_ms,
                last_change_ts=c.ts_ms,
                values={},
                escalated=False,
                notices=0,
            )
            s.add(row)
        if not pair.in_service and row.state != State.OUT_OF_SERVICE:
            # A pair taken out of service has no annunciated alarm; what the condition does
            # meanwhile is kept on an out-of-service row, for the return to service.
            outcome: Outcome = Outcome(State.OUT_OF_SERVICE)
        else:
            outcome = transition(State(row.state), event, condition_active=c.active)
        if not outcome.changed and event not in ACTIVATIONS:
            return row
        row.condition_active = c.active
        if event in ACTIVATIONS:
            row.count += 1
            self._describe(row, c, self._policy(batch, c.tenant, c.rule_id))
            row.quiet = c.historical and not c.notify_historical
            row.committed_ms = c.committed_ms
        action = "activate" if c.active else "return"
        notify = not (c.historical and not c.notify_historical)
        self._move(s, batch, row, outcome, c.ts_ms, action, ENGINE, None, notify=notify)
        if outcome.closed:
            s.flush()  # the pair may open a new alarm later in this batch
            return None
        return row

    def _describe(self, row: Alarm, c: ConditionChange, policy: AlarmPolicy | None) -> None:
        row.rule_version = c.rule_version
        row.severity = Severity(c.severity).value
        row.priority = priority_of(Severity(c.severity), _priority_override(policy))
        row.message = c.message[:MAX_TEXT]
        row.values = dict(c.values)

    # --- what time decides ------------------------------------------------------------------

    def tick(self, now_ms: int | None = None) -> int:
        """Expire shelves and escalate alarms unacknowledged for longer than their rule
        allows; returns how many alarms changed. Called every few seconds by the engine."""
        now = self.clock() if now_ms is None else now_ms
        return self._retry(lambda: self._tick(now))

    def _tick(self, now: int) -> int:
        batch = _Batch()
        with self.meta.session() as s:
            expired = sa.select(Alarm).where(
                Alarm.open.is_(True),
                Alarm.state == State.SHELVED.value,
                Alarm.shelved_until <= now,
            )
            for row in s.scalars(expired.order_by(Alarm.id).with_for_update()):
                outcome = transition(
                    State.SHELVED, Event.UNSHELVE, condition_active=row.condition_active
                )
                row.shelved_until = None
                row.shelve_reason = None
                self._move(s, batch, row, outcome, now, "shelve_expired", SYSTEM, None)
            unack = sa.select(Alarm).where(
                Alarm.open.is_(True),
                Alarm.state == State.UNACK_ACTIVE.value,
                Alarm.escalated.is_(False),
                Alarm.quiet.is_(False),
            )
            for row in s.scalars(unack.order_by(Alarm.id).with_for_update()):
                policy = self._policy(batch, row.tenant_id, row.rule_id)
                if policy is None or policy.escalate_after_s is None:
                    continue
                since = row.unack_since_ts if row.unack_since_ts is not None else row.raised_ts
                if now - since < policy.escalate_after_s * 1000:
                    continue
                row.escalated = True
                state = State(row.state)
                self._move(s, batch, row, Outcome(state), now, "escalate", SYSTEM, None)
                self._notice(batch, row, NoticeKind.ESCALATED, now)
            self._enqueue(s, batch)
        self._emit(batch)
        return len(batch.changed)

    # --- operator actions -------------------------------------------------------------------

    def acknowledge(
        self, tenant: str, alarm_id: str, principal: Principal, comment: str | None = None
    ) -> dict[str, Any]:
        def act(s: Session, batch: _Batch, row: Alarm) -> None:
            self._ack(s, batch, row, principal, _text("comment", comment, required=False))

        return self._act(tenant, alarm_id, principal, "acknowledge", act)

    def acknowledge_many(
        self, tenant: str, ids: Sequence[str], principal: Principal, comment: str | None = None
    ) -> BulkResult:
        """Acknowledge up to :data:`MAX_BULK` alarms in one transaction; those that are not
        the tenant's or not unacknowledged are skipped, each with its reason."""
        unique = list(dict.fromkeys(ids))
        if not unique:
            raise ValidationFailed("ids: at least one alarm id is required")
        if len(unique) > MAX_BULK:
            raise ValidationFailed(f"ids: at most {MAX_BULK} alarms per request")
        text = _text("comment", comment, required=False)
        batch = _Batch()
        done: list[str] = []
        skipped: list[dict[str, str]] = []
        detail: dict[str, Any] = {"requested": len(unique)}
        with audited(
            self.meta,
            principal,
            tenant=tenant,
            action="alarm.acknowledge_bulk",
            object_type="alarm",
            object_id=None,
            detail=detail,
        ) as s:
            rows = {
                r.id: r
                for i in range(0, len(unique), _CHUNK)
                for r in s.scalars(
                    sa.select(Alarm)
                    .where(Alarm.tenant_id == tenant, Alarm.id.in_(unique[i : i + _CHUNK]))
                    .order_by(Alarm.id)
                    .with_for_update()
                )
            }
            for alarm_id in unique:
                row = rows.get(alarm_id)
                if row is None:
                    skipped.append(
                        {"id": alarm_id, "code": "not_found", "message": "alarm not found"}
                    )
                    continue
                try:  # a refused transition raises before it changes anything
                    self._ack(s, batch, row, principal, text)
                except HelanError as exc:
                    skipped.append({"id": alarm_id, "code": exc.code, "message": exc.message})
                    continue
                done.append(alarm_id)
            detail["acknowledged"] = len(done)
            self._enqueue(s, batch)
        self._emit(batch)
        return BulkResult(acknowledged=done, skipped=skipped)

    def _ack(
        self, s: Session, batch: _Batch, row: Alarm, principal: Principal, comment: str | None
    ) -> None:
        outcome = transition(State(row.state), Event.ACK, condition_active=row.condition_active)
        now = self.clock()
        row.acknowledged_ts = now
        row.acknowledged_by = principal.subject[:100]
        self._move(s, batch, row, outcome, now, "acknowledge", principal.subject, comment)

    def comment(
        self, tenant: str, alarm_id: str, principal: Principal, text: str
    ) -> dict[str, Any]:
        checked = _text("text", text, required=True)

        def act(s: Session, batch: _Batch, row: Alarm) -> None:
            self._note(s, batch, row, "comment", principal, checked)

        return self._act(tenant, alarm_id, principal, "comment", act)

    def assign(
        self, tenant: str, alarm_id: str, principal: Principal, user: str | None
    ) -> dict[str, Any]:
        """Assign the alarm to a user of the tenant (None: to nobody)."""

        def act(s: Session, batch: _Batch, row: Alarm) -> None:
            _require_open(row, "assign")
            if user is not None:
                found = s.get(User, user)
                if found is None or found.tenant_id != tenant:
                    raise ValidationFailed(f"user: {user!r} is not a user of tenant {tenant!r}")
            row.assigned_to = user
            self._note(s, batch, row, "assign", principal, user)

        return self._act(tenant, alarm_id, principal, "assign", act, detail={"user": user})

    def shelve(
        self,
        tenant: str,
        alarm_id: str,
        principal: Principal,
        *,
        reason: str,
        until_ms: int | None = None,
        duration_s: float | None = None,
    ) -> dict[str, Any]:
        """Shelve until ``until_ms`` or for ``duration_s`` (one of them, at most 7 days)."""
        checked = _text("reason", reason, required=True)
        now = self.clock()
        if (until_ms is None) == (duration_s is None):
            raise ValidationFailed("give exactly one of 'until' and 'duration_s'")
        if duration_s is not None:
            if not 0 < duration_s <= MAX_SHELVE_S:
                raise ValidationFailed(
                    f"duration_s must be more than 0 and at most {MAX_SHELVE_S} (7 days)"
                )
            until = now + int(duration_s * 1000)
        else:
            assert until_ms is not None
            until = until_ms
        if until <= now:
            raise ValidationFailed("until: the shelve must end in the future")
        if until - now > MAX_SHELVE_S * 1000:
            raise ValidationFailed("until: an alarm may be shelved for at most 7 days")

        def act(s: Session, batch: _Batch, row: Alarm) -> None:
            outcome = transition(State(row.state), Event.SHELVE, condition_active=True)
            row.shelved_until = until
            row.shelve_reason = checked
            self._move(s, batch, row, outcome, now, "shelve", principal.subject, checked)

        detail = {"until": until, "reason": checked}
        return self._act(tenant, alarm_id, principal, "shelve", act, detail=detail)

    def unshelve(self, tenant: str, alarm_id: str, principal: Principal) -> dict[str, Any]:
        def act(s: Session, batch: _Batch, row: Alarm) -> None:
            outcome = transition(
                State(row.state), Event.UNSHELVE, condition_active=row.condition_active
            )
            row.shelved_until = None
            row.shelve_reason = None
            self._move(s, batch, row, outcome, self.clock(), "unshelve", principal.subject, None)

        return self._act(tenant, alarm_id, principal, "unshelve", act)

    def clear(
        self, tenant: str, alarm_id: str, principal: Principal, comment: str
    ) -> dict[str, Any]:
        """Force-close an open alarm (whatever its condition): the comment says why."""
        checked = _text("comment", comment, required=True)

        def act(s: Session, batch: _Batch, row: Alarm) -> None:
            outcome = transition(State(row.state), Event.CLEAR, condition_active=False)
            self._move(s, batch, row, outcome, self.clock(), "clear", principal.subject, checked)

        return self._act(tenant, alarm_id, principal, "clear", act, detail={"comment": checked})

    def set_service(
        self,
        tenant: str,
        rule_id: str,
        device: str,
        principal: Principal,
        *,
        in_service: bool,
        reason: str,
    ) -> dict[str, Any]:
        """Take a (rule, device) pair out of service, or return it. Out of service, the pair
        raises nothing; back in service, an alarm is annunciated if the condition is active."""
        checked = _text("reason", reason, required=True)
        batch = _Batch()
        with audited(
            self.meta,
            principal,
            tenant=tenant,
            action="alarm.return_to_service" if in_service else "alarm.out_of_service",
            object_type="alarm_pair",
            object_id=f"{rule_id}/{device}",
            detail={"reason": checked},
        ) as s:
            if s.get(Device, (tenant, device)) is None:
                raise NotFound(f"device {device!r} not found")
            if self._policy(batch, tenant, rule_id) is None:
                raise NotFound(f"rule {rule_id!r} not found")
            pair = s.get(AlarmPair, (tenant, rule_id, device), with_for_update=True)
            if pair is None:
                pair = AlarmPair(tenant_id=tenant, rule_id=rule_id, device=device, active=False)
                s.add(pair)
            row = s.scalars(
                sa.select(Alarm)
                .where(
                    Alarm.tenant_id == tenant,
                    Alarm.rule_id == rule_id,
                    Alarm.device == device,
                    Alarm.open.is_(True),
                )
                .with_for_update()
            ).one_or_none()
            changed = pair.in_service is not in_service
            pair.in_service = in_service
            pair.service_reason = checked
            pair.service_by = principal.subject[:100]
            pair.service_at = utcnow()
            if changed and row is not None:
                event = Event.RESTORE if in_service else Event.REMOVE
                outcome = transition(State(row.state), event, condition_active=row.condition_active)
                action = event.value
                self._move(s, batch, row, outcome, self.clock(), action, principal.subject, checked)
            out = {
                "rule_id": rule_id,
                "device": device,
                "in_service": pair.in_service,
                "reason": pair.service_reason,
                "changed_by": pair.service_by,
                "changed_at": pair.service_at,
                "alarm": alarm_dict(row) if row is not None else None,
            }
            self._enqueue(s, batch)
        self._emit(batch)
        return out

    # --- shared machinery -------------------------------------------------------------------

    def _act(
        self,
        tenant: str,
        alarm_id: str,
        principal: Principal,
        action: str,
        fn: Callable[[Session, _Batch, Alarm], None],
        *,
        detail: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        batch = _Batch()
        with audited(
            self.meta,
            principal,
            tenant=tenant,
            action=f"alarm.{action}",
            object_type="alarm",
            object_id=alarm_id,
            detail=detail,
        ) as s:
            row = s.get(Alarm, alarm_id, with_for_update=True)
            if row is None or row.tenant_id != tenant:
                raise NotFound(f"alarm {alarm_id!r} not found")
            fn(s, batch, row)
            batch.changed[row.id] = row
            self._enqueue(s, batch)
            out = alarm_dict(row)
        self._emit(batch)
        return out

    def _note(
        self,
        s: Session,
        batch: _Batch,
        row: Alarm,
        action: str,
        principal: Principal,
        comment: str | None,
    ) -> None:
        state = State(row.state)
        self._move(
            s,
            batch,
            row,
            Outcome(state, changed=False),
            self.clock(),
            action,
            principal.subject,
            comment,
        )

    def _move(
        self,
        s: Session,
        batch: _Batch,
        row: Alarm,
        outcome: Outcome,
        ts: int,
        action: str,
        actor: str,
        comment: str | None,
        *,
        notify: bool = True,
    ) -> None:
        """Put ``row`` in ``outcome``'s state, write the history row, queue the notice."""
        before = State(row.state)
        after = outcome.state
        if outcome.changed or before is not after:
            row.last_change_ts = max(row.last_change_ts, ts)
        if after is State.UNACK_ACTIVE and before is not State.UNACK_ACTIVE:
            row.unack_since_ts = ts
            row.escalated = False
            row.acknowledged_ts = None
            row.acknowledged_by = None
        elif after is not State.UNACK_ACTIVE:
            row.unack_since_ts = None
        if after is not State.SHELVED:
            row.shelved_until = None
            row.shelve_reason = None
        row.state = after.value
        if outcome.closed:
            row.open = False
            row.cleared_ts = ts
        s.add(
            AlarmHistory(
                tenant_id=row.tenant_id,
                alarm_id=row.id,
                rule_id=row.rule_id,
                device=row.device,
                ts_ms=ts,
                action=action,
                from_state=before.value,
                to_state=after.value,
                actor=actor[:100],
                comment=comment,
                severity=row.severity,
                priority=row.priority,
                values=dict(row.values) if action == "activate" else {},
            )
        )
        batch.changed[row.id] = row
        if outcome.notice is not None and notify and after not in SILENT:
            self._notice(batch, row, outcome.notice, ts)

    def _notice(self, batch: _Batch, row: Alarm, kind: NoticeKind, ts: int) -> None:
        if row.quiet:
            return
        policy = self._policy(batch, row.tenant_id, row.rule_id)
        channels = tuple(policy.notify.get(kind, ())) if policy is not None else ()
        if not channels:
            return
        row.notices += 1
        batch.notices.append(
            AlarmNotice(
                key=f"{row.id}:{kind.value}:{row.notices}",
                tenant=row.tenant_id,
                alarm_id=row.id,
                rule_id=row.rule_id,
                device=row.device,
                kind=kind,
                severity=Severity(row.severity),
                message=row.message,
                ts_ms=ts,
                channels=channels,
                values=dict(row.values),
                committed_ms=row.committed_ms if kind is NoticeKind.RAISED else 0,
            )
        )

    def _policy(self, batch: _Batch, tenant: str, rule_id: str) -> AlarmPolicy | None:
        key = (tenant, rule_id)
        if key not in batch.policies:
            batch.policies[key] = self.policies.policy(tenant, rule_id)
        return batch.policies[key]

    def _enqueue(self, s: Session, batch: _Batch) -> None:
        if batch.notices:
            s.flush()  # the alarms exist before the outbox rows that name them
            self.notices.enqueue(s, batch.notices)

    def _emit(self, batch: _Batch) -> None:
        if self.on_change is None:
            return
        for row in batch.changed.values():
            try:
                self.on_change(row.tenant_id, alarm_dict(row))
            except Exception:  # a listener's failure must not undo a committed transition
                log.exception("alarm on_change listener failed")


def _require_open(row: Alarm, what: str) -> None:
    if not row.open:
        raise IllegalTransition(f"cannot {what} a closed alarm")


def _priority_override(policy: AlarmPolicy | None) -> int | None:
    """A rule's priority override, once the policy carries one (``AlarmPolicy.priority``)."""
    value = getattr(policy, "priority", None)
    return value if isinstance(value, int) else None
