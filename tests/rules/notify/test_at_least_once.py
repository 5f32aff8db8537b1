"""At least once, never twice at once: a worker killed between the receiver's answer and the
mark is resent (same Idempotency-Key) by the next; two workers on one PostgreSQL database
share the outbox without sending one row concurrently."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
import sqlalchemy as sa

from helan.config import Settings
from helan.rules.notify import Delivery
from helan.storage.meta import MetaStore
from helan.storage.meta.models_notify import NotificationDelivery
from tests.conftest import eventually
from tests.rules.notify.conftest import SECRET, add_channel, enqueue, notice, open_meta
from tests.rules.notify.receiver import Receiver


def _statuses(meta: MetaStore) -> Counter[str]:
    with meta.session() as s:
        return Counter(s.scalars(sa.select(NotificationDelivery.status)))


async def test_crash_between_send_and_mark_resends_with_the_same_key(
    meta: MetaStore, fast: Settings
) -> None:
    settings = fast.model_copy(update={"notify_lease_s": 0.3})
    receiver = Receiver(hold=asyncio.Event())
    await receiver.start()
    add_channel(meta, config={"url": receiver.url, "secret": SECRET})
    first = Delivery(meta, settings, name="first")
    await first.start()
    enqueue(meta, [notice(1)])
    try:
        await asyncio.wait_for(receiver.arrived.wait(), 5)  # the receiver has it ...
        await first.stop(grace_s=0)  # ... and the worker dies before it hears the answer
        assert _statuses(meta) == {"pending": 1}
        assert receiver.hold is not None
        receiver.hold.set()
        second = Delivery(meta, settings, name="second")
        await second.start()
        try:
            await eventually(lambda: _statuses(meta) == {"sent": 1}, within=5)
        finally:
            await second.stop()
    finally:
        await receiver.stop()
    assert receiver.keys() == ["acme:rule1:pump-1:1:raised:hook"] * 2
    assert receiver.got[0].raw == receiver.got[1].raw


@pytest.mark.postgres
async def test_two_workers_on_postgresql_never_overlap(pg_url: str, fast: Settings) -> None:
    one, two = open_meta(pg_url), MetaStore(pg_url)  # two processes' connections
    receiver = Receiver(delay_s=0.005)
    await receiver.start()
    settings = fast.model_copy(update={"notify_concurrency": 16})
    workers = [Delivery(one, settings, name="a", batch=7), Delivery(two, settings, name="b")]
    try:
        add_channel(one, config={"url": receiver.url, "secret": SECRET})
        for w in workers:
            await w.start()
        for batch in range(6):
            enqueue(one if batch % 2 else two, [notice(batch * 50 + i) for i in range(50)])
        await eventually(lambda: _statuses(one) == {"sent": 300}, within=30)
    finally:
        for w in workers:
            await w.stop()
        await receiver.stop()
        one.close()
        two.close()
    assert receiver.overlaps == 0
    assert all(w.stats["sent"] > 30 for w in workers)  # both did share the work
    counts = Counter(receiver.keys())
    assert len(counts) == 300
    assert max(counts.values()) == 1  # no crash, no failure: each exactly once
