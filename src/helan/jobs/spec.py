"""What a job is, as data: an id, when it runs, and the coroutine to run.

Platform parts and apps describe jobs with these and never touch APScheduler, so the scheduler
library can change without touching them.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from helan.core.errors import ValidationFailed

JOB_ID_MAX = 128


@dataclass(frozen=True, slots=True, kw_only=True)
class Interval:
    """Every ``seconds``; with ``at_start`` also once as soon as the scheduler starts."""

    seconds: float
    at_start: bool = False

    def __post_init__(self) -> None:
        if not self.seconds > 0:
            raise ValidationFailed(f"interval must be positive, got {self.seconds!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Cron:
    """A five-field crontab expression (minute hour day month weekday), in ``timezone``."""

    expression: str
    timezone: str = "UTC"


Trigger = Interval | Cron


@dataclass(frozen=True, slots=True, kw_only=True)
class JobSpec:
    """One scheduled job. ``id`` is unique in the scheduler (apps prefix theirs with the app
    id); ``run`` takes no arguments, so whatever it needs is bound when the spec is made."""

    id: str
    trigger: Trigger
    run: Callable[[], Coroutine[Any, Any, None]]

    def __post_init__(self) -> None:
        if not self.id or len(self.id) > JOB_ID_MAX:
            raise ValidationFailed(f"job id must be 1..{JOB_ID_MAX} characters")
