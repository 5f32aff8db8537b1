"""The platform's job scheduler: APScheduler 3's AsyncIOScheduler behind a component with
``start``/``stop``, so retention and the apps' jobs run on one clock instead of a loop each.

Each job runs in a wrapper that logs and counts its failures: a job that raises is tried again
at its next time and never stops the scheduler or the other jobs. A job does not overlap itself
(``max_instances=1``) and missed runs collapse into one (``coalesce``), so a slow pass does not
queue up a backlog. ``stop`` waits a little for running jobs (they often hold a worker thread
that cannot be cancelled) and then cancels them, so nothing outlives the platform.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]

from helan.core.errors import Conflict, ValidationFailed
from helan.jobs.spec import Cron, Interval, JobSpec

log = logging.getLogger(__name__)

# A run that could not start on time (the loop was busy) still runs if this late.
MISFIRE_GRACE_S = 60


@dataclass(slots=True)
class JobStatus:
    """What a job has done since the scheduler started (for logs, tests and metrics)."""

    runs: int = 0
    failures: int = 0
    running: bool = False
    last_error: str | None = None
    last_duration_s: float | None = None


class Scheduler:
    """Holds job specs; adds them to APScheduler at :meth:`start` (or at once when running)."""

    name = "scheduler"

    def __init__(self, *, stop_grace_s: float = 10.0) -> None:
        self._specs: dict[str, JobSpec] = {}
        self._status: dict[str, JobStatus] = {}
        self._bodies: set[asyncio.Task[None]] = set()  # the jobs' own coroutines
        self._wrappers: set[asyncio.Task[object]] = set()  # APScheduler's tasks awaiting them
        self._aps: AsyncIOScheduler | None = None
        self._stop_grace_s = stop_grace_s

    @property
    def job_ids(self) -> list[str]:
        return list(self._specs)

    def status(self, job_id: str) -> JobStatus:
        return self._status[job_id]

    def add(self, spec: JobSpec) -> None:
        """Register ``spec``; a second job with the same id is a :class:`Conflict`."""
        if spec.id in self._specs:
            raise Conflict(f"job {spec.id!r} is already scheduled")
        trigger = _trigger(spec)  # a bad cron expression fails here, not at start
        self._specs[spec.id] = spec
        self._status[spec.id] = JobStatus()
        if self._aps is not None:
            self._schedule(spec, trigger)

    def remove(self, job_id: str) -> None:
        """Unschedule ``job_id`` (a run in progress finishes)."""
        if self._specs.pop(job_id, None) is None:
            raise ValidationFailed(f"no job {job_id!r}")
        del self._status[job_id]
        if self._aps is not None:
            self._aps.remove_job(job_id)

    async def start(self) -> None:
        if self._aps is not None:
            return
        self._aps = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone=UTC)
        for spec in self._specs.values():
            self._schedule(spec, _trigger(spec))
        self._aps.start()

    async def stop(self) -> None:
        """No new runs; running jobs get ``stop_grace_s`` to finish, then are cancelled."""
        if self._aps is None:
            return
        self._aps.pause()
        if self._bodies:
            _, late = await asyncio.wait(set(self._bodies), timeout=self._stop_grace_s)
            for task in late:
                log.warning("job %s still running at stop: cancelled", task.get_name())
                task.cancel()
        # APScheduler's executor cancels the runs it still holds at shutdown, and logs that as
        # an error: let each wrapper see its job end first.
        await asyncio.gather(*self._wrappers, return_exceptions=True)
        self._aps.shutdown(wait=False)
        self._aps = None

    def _schedule(self, spec: JobSpec, trigger: object) -> None:
        assert self._aps is not None
        first = (
            datetime.now(UTC)
            if isinstance(spec.trigger, Interval) and spec.trigger.at_start
            else None
        )
        self._aps.add_job(
            self._run,
            trigger,
            args=[spec],
            id=spec.id,
            name=spec.id,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=MISFIRE_GRACE_S,
            **({"next_run_time": first} if first is not None else {}),
        )

    async def _run(self, spec: JobSpec) -> None:
        """One run of ``spec``, in a task of its own (APScheduler's is cancelled at shutdown);
        its failure is logged and counted, never raised to APScheduler."""
        status = self._status.get(spec.id)
        if status is None:  # removed between APScheduler's wake-up and this run
            return
        wrapper = asyncio.current_task()
        assert wrapper is not None
        self._wrappers.add(wrapper)
        body = asyncio.create_task(spec.run(), name=f"helan-job-{spec.id}")
        self._bodies.add(body)
        body.add_done_callback(self._bodies.discard)
        status.running = True
        started = time.perf_counter()
        try:
            await asyncio.wait({body})
        finally:
            self._wrappers.discard(wrapper)
        status.runs += 1
        status.running = False
        status.last_duration_s = time.perf_counter() - started
        if body.cancelled():
            status.last_error = "cancelled at stop"
        elif (exc := body.exception()) is not None:
            status.failures += 1
            status.last_error = f"{type(exc).__name__}: {exc}"
            log.error("job %s failed", spec.id, exc_info=exc)


def _trigger(spec: JobSpec) -> IntervalTrigger | CronTrigger:
    match spec.trigger:
        case Interval(seconds=seconds):
            return IntervalTrigger(seconds=seconds, timezone=UTC)
        case Cron(expression=expression, timezone=tz):
            try:
                return CronTrigger.from_crontab(expression, timezone=tz)
            except (ValueError, LookupError) as exc:
                raise ValidationFailed(f"job {spec.id!r}: bad cron {expression!r}: {exc}") from exc
