"""``helan run --sim``: a simulated factory that fails says so at once, and the banner claims
only devices that really publish (issue 15, B1)."""

from __future__ import annotations

import asyncio
import io
import logging

import pytest
from rich.console import Console

from helan.serve import sim_failure_reporter


async def test_a_failing_simulator_is_reported_when_it_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    out = io.StringIO()
    console = Console(file=out, width=200)

    async def broken() -> None:
        raise RuntimeError("provisioning refused: 503")

    caplog.set_level(logging.ERROR, logger="helan")
    task: asyncio.Task[object] = asyncio.create_task(broken())  # type: ignore[arg-type]
    task.add_done_callback(sim_failure_reporter(console))
    await asyncio.gather(task, return_exceptions=True)
    await asyncio.sleep(0)  # done-callbacks run on the next loop turn
    assert "Simulated factory stopped: RuntimeError: provisioning refused: 503" in out.getvalue()
    assert any("simulated factory stopped" in r.getMessage() for r in caplog.records)


async def test_a_cancelled_or_finished_simulator_is_not_a_failure() -> None:
    out = io.StringIO()
    report = sim_failure_reporter(Console(file=out))

    async def forever() -> None:
        await asyncio.sleep(3600)

    async def done() -> None:
        return None

    cancelled: asyncio.Task[object] = asyncio.create_task(forever())  # type: ignore[arg-type]
    finished: asyncio.Task[object] = asyncio.create_task(done())  # type: ignore[arg-type]
    cancelled.add_done_callback(report)
    finished.add_done_callback(report)
    cancelled.cancel()
    await asyncio.gather(cancelled, finished, return_exceptions=True)
    await asyncio.sleep(0)
    assert out.getvalue() == ""
