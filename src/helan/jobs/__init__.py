"""Scheduled work of the platform and of its apps, on one APScheduler (see :mod:`.scheduler`)."""

from helan.jobs.scheduler import JobStatus, Scheduler
from helan.jobs.spec import Cron, Interval, JobSpec, Trigger

__all__ = ["Cron", "Interval", "JobSpec", "JobStatus", "Scheduler", "Trigger"]
