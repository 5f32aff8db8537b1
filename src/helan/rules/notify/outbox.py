"""The notification outbox: the alarms' :class:`~helan.rules.contracts.NoticeSink`.

Each notice becomes one delivery row per channel, inserted in the caller's session, so an
alarm's transition and its notices commit together or not at all: a notice accepted is never
lost, whatever fails after. A key already present (a replay after a crash) inserts nothing.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from helan.rules.contracts import AlarmNotice
from helan.rules.notify import wakeup
from helan.storage.meta import MetaStore
from helan.storage.meta.models_notify import NotificationDelivery

MAX_KEY = 400
_WAKE = "helan_notify_wake"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def delivery_key(notice_key: str, channel: str) -> str:
    """The idempotency key a receiver sees: the notice's key and the channel (hashed when too
    long for the column, still stable)."""
    key = f"{notice_key}:{channel}"
    if len(key) > MAX_KEY:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def notice_body(notice: AlarmNotice) -> dict[str, Any]:
    """The notice as the outbox keeps it (and as webhooks and MQTT receive it, with the key)."""
    return {
        "tenant": notice.tenant,
        "alarm_id": notice.alarm_id,
        "rule_id": notice.rule_id,
        "device": notice.device,
        "kind": str(notice.kind),
        "severity": str(notice.severity),
        "message": notice.message,
        "ts_ms": notice.ts_ms,
        "values": dict(notice.values),
    }


def insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert delivery rows; a key already there is skipped. Returns how many were new."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    table = cast(sa.Table, NotificationDelivery.__table__)
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(table).on_conflict_do_nothing(index_elements=["key"])
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=["key"])
    else:  # pragma: no cover - the two supported engines are above
        raise RuntimeError(f"the outbox does not support {dialect}")
    result = session.execute(stmt, rows)
    return int(getattr(result, "rowcount", 0) or 0)


def delivery_row(
    *,
    key: str,
    tenant: str,
    channel: str,
    alarm_id: str,
    severity: str,
    notice: dict[str, Any],
    purpose: str = "notice",
    created_ms: int,
    committed_ms: int = 0,
) -> dict[str, Any]:
    return {
        "key": key,
        "tenant_id": tenant,
        "channel_id": channel,
        "alarm_id": alarm_id[:200],
        "purpose": purpose,
        "severity": severity,
        "notice": {**notice, "key": key},
        "status": "pending",
        "admitted": False,
        "attempts": 0,
        "next_attempt_ms": created_ms,
        "created_ms": created_ms,
        "committed_ms": committed_ms or created_ms,
    }


class Outbox:
    """``enqueue`` in the alarms' transaction; the delivery workers of this process are woken
    when it commits."""

    def __init__(self, meta: MetaStore, *, clock: Callable[[], int] = now_ms) -> None:
        self.meta = meta
        self.clock = clock

    def enqueue(self, session: Session, notices: Sequence[AlarmNotice]) -> None:
        created = self.clock()
        rows = [
            delivery_row(
                key=delivery_key(n.key, channel),
                tenant=n.tenant,
                channel=channel,
                alarm_id=n.alarm_id,
                severity=str(n.severity),
                notice=notice_body(n),
                created_ms=created,
                committed_ms=n.committed_ms,
            )
            for n in notices
            for channel in dict.fromkeys(n.channels)
        ]
        if not rows:
            return
        insert_ignoring_duplicates(session, rows)
        self.wake_after_commit(session)

    def wake_after_commit(self, session: Session) -> None:
        if session.info.get(_WAKE):
            return
        session.info[_WAKE] = True
        meta = self.meta

        def woken(s: Session) -> None:
            s.info.pop(_WAKE, None)
            wakeup.wake(meta)

        event.listen(session, "after_commit", woken, once=True)
