"""Rate limits with their summary, and quiet hours (held, then released; critical passes when
the channel says so), on an injectable clock and a real HTTP receiver."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from helan.config import Settings
from helan.rules.contracts import Severity
from helan.rules.notify import Delivery
from helan.rules.notify.limits import QuietHours, quiet_until
from helan.storage.meta import MetaStore
from helan.storage.meta.models_notify import NotificationDelivery
from tests.rules.notify.conftest import SECRET, add_channel, enqueue, notice
from tests.rules.notify.receiver import Receiver


class Clock:
    def __init__(self, at: datetime) -> None:
        self.ms = int(at.timestamp() * 1000)

    def __call__(self) -> int:
        return self.ms

    def advance(self, seconds: float) -> None:
        self.ms += int(seconds * 1000)


def _rows(meta: MetaStore) -> list[NotificationDelivery]:
    with meta.session() as s:
        return list(s.scalars(sa.select(NotificationDelivery).order_by(NotificationDelivery.id)))


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


async def test_storm_is_limited_counted_and_summarised(
    meta: MetaStore, fast: Settings, receiver: Receiver
) -> None:
    clock = Clock(datetime(2026, 12, 4, 8, 0, tzinfo=UTC))
    add_channel(meta, config={"url": receiver.url, "secret": SECRET}, rate=5)
    worker = Delivery(meta, fast, clock=clock)
    try:
        enqueue(meta, [notice(i) for i in range(50)], clock)
        await worker.run_once()
        assert len(receiver.got) == 5
        statuses = [r.status for r in _rows(meta)]
        assert statuses.count("sent") == 5
        assert statuses.count("suppressed") == 45
        clock.advance(30)  # same window: nothing more, no summary yet
        await worker.run_once()
        assert len(receiver.got) == 5
        clock.advance(31)  # the window reopens: one summary, then nothing
        await worker.run_once()
        await worker.run_once()
    finally:
        await worker.stop()
    assert len(receiver.got) == 6
    summary = receiver.got[-1].body
    assert summary["kind"] == "summary"
    assert summary["message"].startswith("45 notifications suppressed")
    assert summary["values"]["suppressed"] == 45
    assert receiver.got[-1].key.startswith("summary:acme:hook:")


async def test_summary_comes_with_the_next_notice_too(
    meta: MetaStore, fast: Settings, receiver: Receiver
) -> None:
    clock = Clock(datetime(2026, 12, 4, 8, 0, tzinfo=UTC))
    add_channel(meta, config={"url": receiver.url, "secret": SECRET}, rate=1)
    worker = Delivery(meta, fast, clock=clock)
    try:
        enqueue(meta, [notice(i) for i in range(3)], clock)
        await worker.run_once()
        clock.advance(61)
        enqueue(meta, [notice(10)], clock)
        await worker.run_once()
        await worker.run_once()
    finally:
        await worker.stop()
    kinds = [g.body["kind"] for g in receiver.got]
    assert kinds.count("summary") == 1
    assert kinds.count("raised") == 2
    (summary,) = [g.body for g in receiver.got if g.body["kind"] == "summary"]
    assert summary["values"]["suppressed"] == 2


QUIET = {"start": "22:00", "end": "07:00", "timezone": "Asia/Shanghai", "weekdays": [1, 2, 3, 4, 5]}


async def test_quiet_hours_hold_then_release(
    meta: MetaStore, fast: Settings, receiver: Receiver
) -> None:
    clock = Clock(datetime.fromisoformat("2026-12-03T23:30:00+08:00"))  # a Thursday night
    add_channel(meta, config={"url": receiver.url, "secret": SECRET}, quiet=QUIET)
    worker = Delivery(meta, fast, clock=clock)
    try:
        enqueue(meta, [notice(1), notice(2, severity=Severity.CRITICAL)], clock)
        await worker.run_once()
        assert [g.body["severity"] for g in receiver.got] == ["critical"]  # critical bypasses
        held = [r for r in _rows(meta) if r.status == "pending"]
        assert [r.next_attempt_ms for r in held] == [_ms("2026-12-04T07:00:00+08:00")]
        assert held[0].note == "held by quiet hours"
        assert held[0].attempts == 0
        clock.ms = _ms("2026-12-04T06:59:00+08:00")
        await worker.run_once()
        assert len(receiver.got) == 1
        clock.ms = _ms("2026-12-04T07:00:01+08:00")
        await worker.run_once()
    finally:
        await worker.stop()
    assert [g.body["severity"] for g in receiver.got] == ["critical", "high"]


async def test_quiet_hours_hold_critical_when_asked(
    meta: MetaStore, fast: Settings, receiver: Receiver
) -> None:
    clock = Clock(datetime.fromisoformat("2026-12-03T23:30:00+08:00"))
    quiet = {**QUIET, "critical_bypass": False}
    add_channel(meta, config={"url": receiver.url, "secret": SECRET}, quiet=quiet)
    worker = Delivery(meta, fast, clock=clock)
    try:
        enqueue(meta, [notice(2, severity=Severity.CRITICAL)], clock)
        await worker.run_once()
    finally:
        await worker.stop()
    assert receiver.got == []


@pytest.mark.parametrize(
    ("at", "until"),
    [
        ("2026-12-03T23:30:00+08:00", "2026-12-04T07:00:00+08:00"),  # Thu night
        ("2026-12-04T06:00:00+08:00", "2026-12-04T07:00:00+08:00"),  # began Thu
        ("2026-12-04T12:00:00+08:00", None),  # Friday noon
        ("2026-12-05T23:00:00+08:00", None),  # Saturday night: not listed
        ("2026-12-05T06:00:00+08:00", "2026-12-05T07:00:00+08:00"),  # began Friday
        ("2026-12-06T06:00:00+08:00", None),  # began Saturday: not listed
        ("2026-12-03T22:00:00+08:00", "2026-12-04T07:00:00+08:00"),  # start is inclusive
        ("2026-12-04T07:00:00+08:00", None),  # end is exclusive
    ],
)
def test_quiet_until(at: str, until: str | None) -> None:
    expected = None if until is None else _ms(until)
    assert quiet_until(QUIET, _ms(at)) == expected


def test_quiet_hours_same_day_and_whole_day() -> None:
    day = {"start": "12:00", "end": "13:00", "timezone": "UTC"}
    assert quiet_until(day, _ms("2026-12-04T12:30:00+00:00")) == _ms("2026-12-04T13:00:00+00:00")
    assert quiet_until(day, _ms("2026-12-04T13:30:00+00:00")) is None
    weekend = {"start": "00:00", "end": "00:00", "timezone": "UTC", "weekdays": [6, 7]}
    assert quiet_until(weekend, _ms("2026-12-05T15:00:00+00:00")) == _ms(
        "2026-12-06T00:00:00+00:00"
    )
    assert quiet_until(weekend, _ms("2026-12-04T15:00:00+00:00")) is None


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"start": "24:00", "end": "07:00"}, "start"),
        ({"start": "22:00", "end": "7:00"}, "end"),
        ({"start": "22:00", "end": "07:00", "timezone": "Mars/Olympus"}, "timezone"),
        ({"start": "22:00", "end": "07:00", "weekdays": [0, 8]}, "weekdays"),
        ({"start": "22:00", "end": "07:00", "weekdays": []}, "weekdays"),
    ],
)
def test_bad_quiet_hours_name_the_field(spec: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        QuietHours.model_validate(spec)
