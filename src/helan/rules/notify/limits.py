"""Per-channel rate limits and quiet hours.

Rate limit: at most N notices per channel in a fixed 60 s window, shared by every process
through ``notification_limits`` (conditional UPDATEs, so two workers never both take the last
place). The excess is counted, its rows marked ``suppressed``, and when the window reopens one
summary ("N notifications suppressed") goes out instead. Summaries and test notices are not
limited (they are what the limit produces, or what an administrator asked for).

Quiet hours: from ``start`` to ``end`` local time (``end`` before ``start`` runs past midnight,
equal means the whole day) on the given ISO weekdays (1 = Monday; the day the period begins).
A notice due in them waits until they end, except a critical one when ``critical_bypass``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.orm import Session

from helan.core.zones import TimeZoneName
from helan.storage.meta.models_notify import NotificationLimit

WINDOW_MS = 60_000
MAX_RATE = 10_000
TABLE = cast(sa.Table, NotificationLimit.__table__)
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class QuietHours(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    start: str = Field(description="HH:MM local time")
    end: str = Field(description="HH:MM local time; before start: past midnight")
    timezone: TimeZoneName = "Asia/Shanghai"
    weekdays: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5, 6, 7], max_length=7)
    critical_bypass: bool = True

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError("must be HH:MM (00:00 to 23:59)")
        return value

    @field_validator("weekdays")
    @classmethod
    def _days(cls, value: list[int]) -> list[int]:
        if not value or any(not 1 <= d <= 7 for d in value) or len(set(value)) != len(value):
            raise ValueError("must list distinct ISO weekdays 1 (Monday) to 7 (Sunday)")
        return sorted(value)


def _clock(text: str) -> time:
    hh, mm = text.split(":")
    return time(int(hh), int(mm))


def quiet_until(spec: dict[str, Any] | None, now_ms: int) -> int | None:
    """When the quiet period holding ``now_ms`` ends (epoch ms); None outside quiet hours."""
    if not spec:
        return None
    quiet = QuietHours.model_validate(spec)
    zone = ZoneInfo(quiet.timezone)
    now = datetime.fromtimestamp(now_ms / 1000, zone)
    start, end = _clock(quiet.start), _clock(quiet.end)
    span_days = 0 if end > start else 1
    for back in (0, 1):
        day: date = now.date() - timedelta(days=back)
        if day.isoweekday() not in quiet.weekdays:
            continue
        begin = datetime.combine(day, start, zone)
        finish = datetime.combine(day + timedelta(days=span_days), end, zone)
        if begin <= now < finish:
            return int(finish.timestamp() * 1000)
    return None


@dataclass(frozen=True, slots=True)
class Admission:
    admitted: bool
    # The count of the window that just closed, to summarise (0: nothing to say); and its start.
    summary: int = 0
    summary_window_ms: int = 0


def _where(tenant: str, channel: str) -> sa.ColumnElement[bool]:
    return sa.and_(NotificationLimit.tenant_id == tenant, NotificationLimit.channel_id == channel)


def admit(session: Session, tenant: str, channel: str, limit: int, now_ms: int) -> Admission:
    """Take a place in the channel's window, or count one suppressed. Opening a new window
    hands back the closed one's suppressed count (to the one caller whose UPDATE won)."""
    table = TABLE
    open_window = NotificationLimit.window_start_ms > now_ms - WINDOW_MS
    for _ in range(5):
        took = session.execute(
            sa.update(table)
            .where(_where(tenant, channel), open_window, NotificationLimit.admitted < limit)
            .values(admitted=NotificationLimit.admitted + 1)
        )
        if _count(took):
            return Admission(True)
        counted = session.execute(
            sa.update(table)
            .where(_where(tenant, channel), open_window)
            .values(suppressed=NotificationLimit.suppressed + 1)
        )
        if _count(counted):
            return Admission(False)
        old = session.execute(
            sa.select(NotificationLimit.window_start_ms, NotificationLimit.suppressed).where(
                _where(tenant, channel)
            )
        ).first()
        if old is None:
            session.execute(
                _insert_ignore(session, table).values(
                    tenant_id=tenant,
                    channel_id=channel,
                    window_start_ms=now_ms,
                    admitted=0,
                    suppressed=0,
                )
            )
            continue
        reopened = session.execute(
            sa.update(table)
            .where(_where(tenant, channel), NotificationLimit.window_start_ms == old[0])
            .values(window_start_ms=now_ms, admitted=1, suppressed=0)
        )
        if _count(reopened):
            return Admission(True, summary=int(old[1]), summary_window_ms=int(old[0]))
    return Admission(True)  # contention beyond reason: let it through rather than lose it


def closed_windows(session: Session, now_ms: int) -> list[tuple[str, str, int, int]]:
    """Windows past their minute that still hold a suppressed count: (tenant, channel, window
    start, count), each taken by exactly one caller (its count is zeroed here)."""
    rows = session.execute(
        sa.select(
            NotificationLimit.tenant_id,
            NotificationLimit.channel_id,
            NotificationLimit.window_start_ms,
            NotificationLimit.suppressed,
        )
        .where(
            NotificationLimit.suppressed > 0,
            NotificationLimit.window_start_ms <= now_ms - WINDOW_MS,
        )
        .limit(100)
    ).all()
    taken = []
    for tenant, channel, start, count in rows:
        done = session.execute(
            sa.update(TABLE)
            .where(
                _where(tenant, channel),
                NotificationLimit.window_start_ms == start,
                NotificationLimit.suppressed == count,
            )
            .values(suppressed=0)
        )
        if _count(done):
            taken.append((tenant, channel, int(start), int(count)))
    return taken


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _insert_ignore(session: Session, table: Any) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()
