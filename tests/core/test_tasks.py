"""An idle loop must end when cancelled, even when its event is set in the same turn (on
Python 3.11 ``asyncio.wait_for`` swallows that cancellation and the loop runs forever)."""

from __future__ import annotations

import asyncio

from helan.core.tasks import cancel, wait_set


async def _idle_loop(event: asyncio.Event, rounds: list[int]) -> None:
    while True:
        await wait_set(event, 10)
        event.clear()
        rounds.append(1)


async def test_cancel_lands_when_the_event_is_set_in_the_same_turn() -> None:
    for _ in range(50):
        event, rounds = asyncio.Event(), []
        task = asyncio.create_task(_idle_loop(event, rounds))
        await asyncio.sleep(0)  # the loop is waiting now
        event.set()
        task.cancel()  # the same turn: the wait is done and the task is cancelled
        await asyncio.wait_for(cancel(task), 2)
        assert task.cancelled()


async def test_wait_set_says_whether_the_event_came() -> None:
    event = asyncio.Event()
    assert await wait_set(event, 0.01) is False
    asyncio.get_running_loop().call_later(0.01, event.set)
    assert await wait_set(event, 5) is True
