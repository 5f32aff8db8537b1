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
