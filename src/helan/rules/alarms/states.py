"""The ISA-18.2 / IEC 62682 alarm state machine, pure: no database, no clock.

One alarm occurrence moves between the states of ISA-18.2 Figure 5 (plus shelved, suppressed by
design and out of service); :func:`transition` is the whole of it, so that every transition,
and every refusal, is tested as a table. An operator's illegal action (acknowledging an alarm
that is already acknowledged) is a :class:`~helan.core.errors.Conflict` (409) naming the state;
a condition change never is: the process is always right about itself.

Where a state is left for "the state the condition implies" (unshelve, unsuppress, return to
service) the alarm goes to ``unack_active`` when the condition is active (it is annunciated
again, as ISA-18.2 asks) and back to ``normal`` (closed) otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from helan.core.errors import Conflict
from helan.rules.contracts import NoticeKind, Severity


class State(StrEnum):
    NORMAL = "normal"
    UNACK_ACTIVE = "unack_active"
    ACK_ACTIVE = "ack_active"
    RTN_UNACK = "rtn_unack"
    SHELVED = "shelved"
    SUPPRESSED = "suppressed"
    OUT_OF_SERVICE = "out_of_service"


class Event(StrEnum):
    ACTIVE = "active"  # the condition is (again) active
    ACTIVE_SUPPRESSED = "active_suppressed"  # active while the rule's suppression holds
    RTN = "rtn"  # the condition returned to normal
    ACK = "acknowledge"
    SHELVE = "shelve"
    UNSHELVE = "unshelve"  # by an operator, or the shelve expired
    REMOVE = "out_of_service"
    RESTORE = "return_to_service"
    CLEAR = "clear"  # an operator force-closes the alarm


OPEN_STATES = frozenset(State) - {State.NORMAL}
ACTIVATIONS = frozenset({Event.ACTIVE, Event.ACTIVE_SUPPRESSED})
CONDITION_EVENTS = frozenset({Event.ACTIVE, Event.ACTIVE_SUPPRESSED, Event.RTN})
# States in which an activation is annunciated (counted by the performance report).
ANNUNCIATED = frozenset({State.UNACK_ACTIVE, State.ACK_ACTIVE})
# What silences an alarm: no notices while in these.
SILENT = frozenset({State.SHELVED, State.SUPPRESSED, State.OUT_OF_SERVICE})

PRIORITY = {Severity.CRITICAL: 1, Severity.HIGH: 2, Severity.MEDIUM: 3, Severity.LOW: 4}


def priority_of(severity: Severity, override: int | None = None) -> int:
    """Priority 1 (most urgent) .. 4 from the severity, unless the rule overrides it."""
    if override is not None:
        if not 1 <= override <= 4:
            raise ValueError(f"priority must be 1..4, not {override}")
        return override
    return PRIORITY[severity]


@dataclass(frozen=True, slots=True)
class Outcome:
    """Where an event leads: the new state, the notice it announces (None: none), whether it
    changed anything worth a history row (a repeated return to normal does not)."""

    state: State
    notice: NoticeKind | None = None
    changed: bool = True

    @property
    def closed(self) -> bool:
        return self.state is State.NORMAL


class IllegalTransition(Conflict):
    code = "illegal_transition"


_R = NoticeKind.RAISED
_C = NoticeKind.CLEARED
_A = NoticeKind.ACKNOWLEDGED

# (state, event) -> outcome, for the events whose target does not depend on the condition.
_TABLE: dict[tuple[State, Event], Outcome] = {
    (State.NORMAL, Event.ACTIVE): Outcome(State.UNACK_ACTIVE, _R),
    (State.NORMAL, Event.ACTIVE_SUPPRESSED): Outcome(State.SUPPRESSED),
    (State.NORMAL, Event.RTN): Outcome(State.NORMAL, changed=False),
    (State.UNACK_ACTIVE, Event.ACTIVE): Outcome(State.UNACK_ACTIVE),  # a repeat: counted
    (State.UNACK_ACTIVE, Event.ACTIVE_SUPPRESSED): Outcome(State.SUPPRESSED),
    (State.UNACK_ACTIVE, Event.RTN): Outcome(State.RTN_UNACK, _C),
    (State.UNACK_ACTIVE, Event.ACK): Outcome(State.ACK_ACTIVE, _A),
    (State.ACK_ACTIVE, Event.ACTIVE): Outcome(State.ACK_ACTIVE),
    (State.ACK_ACTIVE, Event.ACTIVE_SUPPRESSED): Outcome(State.SUPPRESSED),
    (State.ACK_ACTIVE, Event.RTN): Outcome(State.NORMAL, _C),
    (State.RTN_UNACK, Event.ACTIVE): Outcome(State.UNACK_ACTIVE, _R),
    (State.RTN_UNACK, Event.ACTIVE_SUPPRESSED): Outcome(State.SUPPRESSED),
    (State.RTN_UNACK, Event.RTN): Outcome(State.RTN_UNACK, changed=False),
    (State.RTN_UNACK, Event.ACK): Outcome(State.NORMAL, _A),
    (State.SHELVED, Event.ACTIVE): Outcome(State.SHELVED),
    (State.SHELVED, Event.ACTIVE_SUPPRESSED): Outcome(State.SHELVED),
    (State.SHELVED, Event.RTN): Outcome(State.SHELVED),
    (State.SUPPRESSED, Event.ACTIVE): Outcome(State.UNACK_ACTIVE, _R),
    (State.SUPPRESSED, Event.ACTIVE_SUPPRESSED): Outcome(State.SUPPRESSED),
    (State.SUPPRESSED, Event.RTN): Outcome(State.NORMAL),  # never annunciated: closes quietly
    (State.OUT_OF_SERVICE, Event.ACTIVE): Outcome(State.OUT_OF_SERVICE),
    (State.OUT_OF_SERVICE, Event.ACTIVE_SUPPRESSED): Outcome(State.OUT_OF_SERVICE),
    (State.OUT_OF_SERVICE, Event.RTN): Outcome(State.OUT_OF_SERVICE),
}
for _s in (State.UNACK_ACTIVE, State.ACK_ACTIVE, State.RTN_UNACK):
    _TABLE[(_s, Event.SHELVE)] = Outcome(State.SHELVED)
for _s in OPEN_STATES - {State.OUT_OF_SERVICE}:
    _TABLE[(_s, Event.REMOVE)] = Outcome(State.OUT_OF_SERVICE)
for _s in OPEN_STATES:
    # A force-close announces the return to normal only if the condition had not announced it.
    _notice = _C if _s in ANNUNCIATED else None
    _TABLE[(_s, Event.CLEAR)] = Outcome(State.NORMAL, _notice)

_VERB = {
    Event.ACK: "acknowledge",
    Event.SHELVE: "shelve",
    Event.UNSHELVE: "unshelve",
    Event.REMOVE: "take out of service",
    Event.RESTORE: "return to service",
    Event.CLEAR: "clear",
}
_WHY = {
    Event.ACK: "only an unacknowledged alarm (unack_active, rtn_unack) can be acknowledged",
    Event.SHELVE: "only an annunciated alarm (unack_active, ack_active, rtn_unack) can be shelved",
    Event.UNSHELVE: "only a shelved alarm can be unshelved",
    Event.RESTORE: "only an out-of-service alarm can be returned to service",
}


def _refusal(state: State, event: Event) -> IllegalTransition:
    if state is State.NORMAL and event in (Event.CLEAR, Event.REMOVE):
        why = "the alarm is already closed"
    elif event is Event.REMOVE:
        why = "the alarm is already out of service"
    else:
        why = _WHY.get(event, "not an operator action")
    verb = _VERB.get(event, event.value)
    return IllegalTransition(f"cannot {verb} an alarm in state {state.value!r}: {why}")


def transition(state: State, event: Event, *, condition_active: bool) -> Outcome:
    """The outcome of ``event`` in ``state``; ``condition_active`` is what the rule's
    condition is now (after the event, for a condition change). Raises
    :class:`IllegalTransition` for an operator action the state does not allow."""
    if event in (Event.UNSHELVE, Event.RESTORE):
        leaving = State.SHELVED if event is Event.UNSHELVE else State.OUT_OF_SERVICE
        if state is leaving:
            if condition_active:
                return Outcome(State.UNACK_ACTIVE, _R)
            return Outcome(State.NORMAL)
    else:
        found = _TABLE.get((state, event))
        if found is not None:
            return found
    raise _refusal(state, event)
