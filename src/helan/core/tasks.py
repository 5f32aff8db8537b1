"""Ending a background task: cancel it and wait until it has finished unwinding."""

from __future__ import annotations

import asyncio
import contextlib


async def cancel(task: asyncio.Task[object] | asyncio.Task[None] | None) -> None:
    """Cancel ``task`` (if any) and wait for it, so nothing of it runs after the caller stops."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def wait_set(event: asyncio.Event, timeout_s: float) -> bool:
    """Wait until ``event`` is set or ``timeout_s`` passes; whether it was set.

    Loops that idle on an event must use this rather than ``asyncio.wait_for``: on Python
    3.11 ``wait_for`` returns normally, swallowing a ``cancel()``, when the event is set in
    the same turn of the loop, and a loop cancelled that way never ends (a notification
    worker's stop hung so in CI). ``asyncio.timeout`` delivers the cancellation.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            await event.wait()
    return event.is_set()
