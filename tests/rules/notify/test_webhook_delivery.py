"""Webhook delivery against a real HTTP receiver: signed body, idempotency keys, retries on a
receiver that fails 30% of requests, a receiver down then up, dead letters, and the outbox's
"an existing key is a no-op"."""

from __future__ import annotations

import sqlalchemy as sa

from helan.config import Settings
from helan.rules.notify import Delivery
from helan.rules.notify.channels.webhook import FIELDS, verify
from helan.storage.meta import MetaStore
from helan.storage.meta.models_notify import NotificationDelivery
from tests.conftest import eventually
from tests.rules.notify.conftest import SECRET, add_channel, enqueue, notice
from tests.rules.notify.receiver import Receiver


def _rows(meta: MetaStore) -> list[NotificationDelivery]:
    with meta.session() as s:
        return list(s.scalars(sa.select(NotificationDelivery).order_by(NotificationDelivery.id)))


async def test_signed_webhook_arrives_once_with_its_key(
    meta: MetaStore, fast: Settings, receiver: Receiver
) -> None:
    add_channel(meta, config={"url": receiver.url, "secret": SECRET})
    enqueue(meta, [notice(1)])
    enqueue(meta, [notice(1)])  # the same key again: nothing new
    assert len(_rows(meta)) == 1
    worker = Delivery(meta, fast)
    try:
        assert await worker.run_once() == 1
    finally:
        await worker.stop()
    (got,) = receiver.got
    assert verify(SECRET, got.raw, got.headers["x-helan-signature"])
    assert not verify("another-secret-value", got.raw, got.headers["x-helan-signature"])
    assert got.key == "acme:rule1:pump-1:1:raised:hook"
    assert int(got.headers["x-helan-timestamp"]) > 1_700_000_000
    assert list(got.body) == list(FIELDS)
    assert got.body["message"] == "温度过高 temperature high #1"
    assert got.body["values"] == {"temp": 91.5}
    (row,) = _rows(meta)
    assert (row.status, row.attempts, row.lease_token) == ("sent", 1, None)
    assert row.sent_ms is not None
    assert row.committed_ms == 1_764_800_000_100


async def test_flaky_receiver_loses_nothing(meta: MetaStore, fast: Settings) -> None:
    receiver = Receiver(fail_ratio=0.3)
    await receiver.start()
    add_channel(meta, config={"url": receiver.url, "secret": SECRET})
    worker = Delivery(meta, fast)
    await worker.start()
    try:
        for batch in range(4):
            enqueue(meta, [notice(batch * 25 + i) for i in range(25)])
        await eventually(lambda: len(set(receiver.keys())) == 100, within=20)
        await eventually(lambda: all(r.status == "sent" for r in _rows(meta)))
    finally:
        await worker.stop()
        await receiver.stop()
    assert receiver.failed > 10  # the 30% did fail
    assert {g.key for g in receiver.got} == {r.key for r in _rows(meta)}
    for got in receiver.got:  # a duplicate, if any, carries its own key and body
        assert got.key == got.body["key"]
    assert max(r.attempts for r in _rows(meta)) > 1


async def test_receiver_down_then_up(meta: MetaStore, fast: Settings) -> None:
    receiver = Receiver()  # not started: connection refused
    add_channel(meta, config={"url": receiver.url, "secret": SECRET})
    worker = Delivery(meta, fast)
    await worker.start()
    try:
        enqueue(meta, [notice(i) for i in range(5)])
        await eventually(lambda: all(r.attempts >= 2 for r in _rows(meta)))
        assert all(r.status == "pending" and r.last_error for r in _rows(meta))
        await receiver.start()
        await eventually(lambda: all(r.status == "sent" for r in _rows(meta)))
    finally:
        await worker.stop()
        await receiver.stop()
    assert sorted(set(receiver.keys())) == sorted(r.key for r in _rows(meta))


async def test_gives_up_after_max_attempts(meta: MetaStore, fast: Settings) -> None:
    settings = fast.model_copy(update={"notify_max_attempts": 3})
    receiver = Receiver(fail_ratio=1.0)
    await receiver.start()
    add_channel(meta, config={"url": receiver.url, "secret": SECRET})
    add_channel(meta, id="gone", config={"url": receiver.url, "secret": SECRET}, enabled=False)
    worker = Delivery(meta, settings)
    await worker.start()
    try:
        enqueue(meta, [notice(1, channels=("hook", "gone", "never-made"))])
        await eventually(lambda: all(r.status == "dead" for r in _rows(meta)))
    finally:
        await worker.stop()
        await receiver.stop()
    rows = {r.channel_id: r for r in _rows(meta)}
    assert rows["hook"].attempts == 3
    assert (rows["hook"].last_error or "").startswith("HTTP 503")
    assert rows["gone"].last_error == "channel 'gone' is disabled"
    assert rows["never-made"].last_error == "channel 'never-made' no longer exists"
    assert receiver.failed == 3


def test_backoff_grows_and_is_bounded(meta: MetaStore) -> None:
    settings = Settings(notify_backoff_min_s=1, notify_backoff_max_s=600)
    worker = Delivery(meta, settings)
    delays = [worker.backoff_ms(n) for n in range(1, 15)]
    assert 500 <= delays[0] <= 1000
    assert 8_000 <= delays[4] <= 16_000
    assert all(300_000 <= d <= 600_000 for d in delays[10:])
