"""The scheduler runs interval and cron jobs on the event loop, survives failing jobs, and
leaves nothing running after stop."""

from __future__ import annotations

import asyncio
import logging

import pytest

from helan.core.errors import Conflict, ValidationFailed
from helan.jobs import Cron, Interval, JobSpec, Scheduler
from tests.conftest import eventually


async def test_interval_job_runs_at_start_and_repeats() -> None:
    runs: list[float] = []

    async def tick() -> None:
        runs.append(asyncio.get_running_loop().time())

    scheduler = Scheduler()
    scheduler.add(JobSpec(id="tick", trigger=Interval(seconds=0.1, at_start=True), run=tick))
    await scheduler.start()
    try:
        await eventually(lambda: len(runs) >= 3, within=5)
    finally:
        await scheduler.stop()
    assert scheduler.status("tick").runs >= 3
    assert scheduler.status("tick").failures == 0
    settled = len(runs)
    await asyncio.sleep(0.3)
    assert len(runs) == settled, "a stopped scheduler ran a job"


async def test_without_at_start_the_first_run_waits_for_the_interval() -> None:
    runs: list[int] = []

    async def tick() -> None:
        runs.append(1)

    scheduler = Scheduler()
    await scheduler.start()
    scheduler.add(JobSpec(id="later", trigger=Interval(seconds=30), run=tick))
    await asyncio.sleep(0.3)
    await scheduler.stop()
    assert runs == []


async def test_a_failing_job_is_logged_and_does_not_stop_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    good: list[int] = []

    async def bad() -> None:
        raise RuntimeError("sensor table missing")

    async def fine() -> None:
        good.append(1)

    scheduler = Scheduler()
    scheduler.add(JobSpec(id="bad", trigger=Interval(seconds=0.05, at_start=True), run=bad))
    scheduler.add(JobSpec(id="fine", trigger=Interval(seconds=0.05, at_start=True), run=fine))
    with caplog.at_level(logging.ERROR, logger="helan.jobs.scheduler"):
        await scheduler.start()
        try:
            await eventually(lambda: scheduler.status("bad").failures >= 2 and len(good) >= 2)
        finally:
            await scheduler.stop()
    bad_status = scheduler.status("bad")
    assert bad_status.last_error == "RuntimeError: sensor table missing"
    assert any("job bad failed" in r.getMessage() for r in caplog.records)
    assert scheduler.status("fine").failures == 0


async def test_a_job_does_not_overlap_itself_and_stop_cancels_a_stuck_run() -> None:
    started: list[int] = []
    cancelled = asyncio.Event()

    async def stuck() -> None:
        started.append(1)
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    scheduler = Scheduler(stop_grace_s=0.2)
    scheduler.add(JobSpec(id="stuck", trigger=Interval(seconds=0.05, at_start=True), run=stuck))
    await scheduler.start()
    await eventually(lambda: scheduler.status("stuck").running)
    await asyncio.sleep(0.3)  # six more due times pass while the first run hangs
    await scheduler.stop()
    assert started == [1]
    assert cancelled.is_set()
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("helan-job-")]


async def test_stop_lets_a_short_run_finish() -> None:
    finished: list[int] = []

    async def short() -> None:
        await asyncio.sleep(0.2)
        finished.append(1)

    scheduler = Scheduler(stop_grace_s=5)
    scheduler.add(JobSpec(id="short", trigger=Interval(seconds=60, at_start=True), run=short))
    await scheduler.start()
    await eventually(lambda: scheduler.status("short").running)
    await scheduler.stop()
    assert finished == [1]


async def test_cron_job_is_scheduled_by_its_expression() -> None:
    async def nightly() -> None:
        return None

    scheduler = Scheduler()
    scheduler.add(JobSpec(id="nightly", trigger=Cron(expression="30 2 * * *"), run=nightly))
    await scheduler.start()
    try:
        assert scheduler.job_ids == ["nightly"]
        job = scheduler._aps.get_job("nightly")  # type: ignore[union-attr]
        nxt = job.next_run_time
        assert (nxt.hour, nxt.minute, nxt.second) == (2, 30, 0)
    finally:
        await scheduler.stop()


def test_bad_specs_are_refused() -> None:
    async def noop() -> None:
        return None

    scheduler = Scheduler()
    with pytest.raises(ValidationFailed, match="bad cron"):
        scheduler.add(JobSpec(id="x", trigger=Cron(expression="61 * * * *"), run=noop))
    with pytest.raises(ValidationFailed, match="bad cron"):
        scheduler.add(JobSpec(id="y", trigger=Cron(expression="not a cron"), run=noop))
    with pytest.raises(ValidationFailed, match="positive"):
        Interval(seconds=0)
    with pytest.raises(ValidationFailed, match="job id"):
        JobSpec(id="", trigger=Interval(seconds=1), run=noop)
    scheduler.add(JobSpec(id="z", trigger=Interval(seconds=1), run=noop))
    with pytest.raises(Conflict):
        scheduler.add(JobSpec(id="z", trigger=Interval(seconds=1), run=noop))
    assert scheduler.job_ids == ["z"]


async def test_a_removed_job_no_longer_runs() -> None:
    runs: list[int] = []

    async def tick() -> None:
        runs.append(1)

    scheduler = Scheduler()
    scheduler.add(JobSpec(id="tick", trigger=Interval(seconds=0.05, at_start=True), run=tick))
    await scheduler.start()
    try:
        await eventually(lambda: runs)
        scheduler.remove("tick")
        await asyncio.sleep(0.1)
        settled = len(runs)
        await asyncio.sleep(0.2)
        assert len(runs) == settled
        with pytest.raises(ValidationFailed):
            scheduler.remove("tick")
    finally:
        await scheduler.stop()
