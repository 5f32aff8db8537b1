"""Why a point or a message was rejected: stable codes shared by MQTT error topics, HTTP answers
and the per-tenant counters, so an operator sees the same word everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Reason(IntEnum):
    """Per-point reasons; ``OK`` marks an accepted point in vectorised checks."""

    OK = 0
    UNKNOWN_DEVICE = 1
    DEVICE_DISABLED = 2
    UNKNOWN_METRIC = 3
    WRONG_TYPE = 4
    NOT_FINITE = 5
    OUT_OF_RANGE = 6
    TS_FUTURE = 7
    TS_PAST = 8
    BAD_TS = 9
    BAD_VALUE = 10
    BAD_NAME = 11

    @property
    def code(self) -> str:
        return self.name.lower()


# Message-level reasons: the whole message or body was refused before any point was read.
MALFORMED = "malformed"
TOO_LARGE = "too_large"
TOO_MANY_POINTS = "too_many_points"
BAD_TOPIC = "bad_topic"
UNKNOWN_TOPIC_KIND = "unknown_topic_kind"
# Events (``.../events``): per event, besides the value and time reasons above.
UNKNOWN_EVENT = "unknown_event"
UNKNOWN_OUTPUT = "unknown_output"
MISSING_OUTPUT = "missing_output"
# Per events message: more than MAX_EVENTS_PER_MESSAGE events; or a process without an event
# store (a stand-alone worker run without one refuses events rather than dropping them).
TOO_MANY_EVENTS = "too_many_events"
# A publish on a topic outside the device credential's rights (the broker closed the connection).
TOPIC_NOT_ALLOWED = "topic_not_allowed"
EVENTS_UNAVAILABLE = "events_unavailable"

MAX_EVENTS_PER_MESSAGE = 1000
# Errors listed in one answer (HTTP body, MQTT error message); the rest are only counted.
MAX_LISTED_ERRORS = 100
MAX_TEXT_CHARS = 4096


@dataclass(frozen=True, slots=True)
class PointError:
    """One rejected point: where it was in the input and why."""

    index: int
    device: str | None
    metric: str | None
    reason: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {
            "index": self.index,
            "device": self.device,
            "metric": self.metric,
            "reason": self.reason,
            "message": self.message,
        }
