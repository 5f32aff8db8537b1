"""IANA time-zone names as a checked type: shift calendars, quiet hours and report schedules
all name one, and a name the system's zone database does not know is refused where it is given,
not when the first schedule fires."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator


def check_zone(name: str) -> str:
    """``name`` if the zone database knows it; ValueError naming it otherwise."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None
    return name


TimeZoneName = Annotated[str, AfterValidator(check_zone)]
