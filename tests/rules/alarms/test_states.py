"""Every (state, event) pair of the alarm state machine, as one table: where it leads, what
it announces, and which operator actions are refused (409, with the reason)."""

from __future__ import annotations

import pytest

from helan.rules.alarms.states import Event, IllegalTransition, State, priority_of, transition
from helan.rules.contracts import NoticeKind, Severity

N, UA, AA, RU, SH, SU, OOS = (
    State.NORMAL,
    State.UNACK_ACTIVE,
    State.ACK_ACTIVE,
    State.RTN_UNACK,
    State.SHELVED,
    State.SUPPRESSED,
    State.OUT_OF_SERVICE,
)
R, C, A = NoticeKind.RAISED, NoticeKind.CLEARED, NoticeKind.ACKNOWLEDGED
X = "illegal"

# state -> event -> outcome with the condition active / inactive after the event
# (a pair: (target, notice)); X: refused.
LEGAL: list[tuple[State, Event, bool, State, NoticeKind | None]] = [
    (N, Event.ACTIVE, True, UA, R),
    (N, Event.ACTIVE_SUPPRESSED, True, SU, None),
    (N, Event.RTN, False, N, None),
    (UA, Event.ACTIVE, True, UA, None),
    (UA, Event.ACTIVE_SUPPRESSED, True, SU, None),
    (UA, Event.RTN, False, RU, C),
    (UA, Event.ACK, True, AA, A),
    (UA, Event.SHELVE, True, SH, None),
    (UA, Event.REMOVE, True, OOS, None),
    (UA, Event.CLEAR, True, N, C),
    (AA, Event.ACTIVE, True, AA, None),
    (AA, Event.ACTIVE_SUPPRESSED, True, SU, None),
    (AA, Event.RTN, False, N, C),
    (AA, Event.SHELVE, True, SH, None),
    (AA, Event.REMOVE, True, OOS, None),
    (AA, Event.CLEAR, True, N, C),
    (RU, Event.ACTIVE, True, UA, R),
    (RU, Event.ACTIVE_SUPPRESSED, True, SU, None),
    (RU, Event.RTN, False, RU, None),
    (RU, Event.ACK, False, N, A),
    (RU, Event.SHELVE, False, SH, None),
    (RU, Event.REMOVE, False, OOS, None),
    (RU, Event.CLEAR, False, N, None),
    (SH, Event.ACTIVE, True, SH, None),
    (SH, Event.ACTIVE_SUPPRESSED, True, SH, None),
    (SH, Event.RTN, False, SH, None),
    (SH, Event.UNSHELVE, True, UA, R),
    (SH, Event.UNSHELVE, False, N, None),
    (SH, Event.REMOVE, True, OOS, None),
    (SH, Event.CLEAR, True, N, None),
    (SU, Event.ACTIVE, True, UA, R),
    (SU, Event.ACTIVE_SUPPRESSED, True, SU, None),
    (SU, Event.RTN, False, N, None),
    (SU, Event.REMOVE, True, OOS, None),
    (SU, Event.CLEAR, True, N, None),
    (OOS, Event.ACTIVE, True, OOS, None),
    (OOS, Event.ACTIVE_SUPPRESSED, True, OOS, None),
    (OOS, Event.RTN, False, OOS, None),
    (OOS, Event.RESTORE, True, UA, R),
    (OOS, Event.RESTORE, False, N, None),
    (OOS, Event.CLEAR, False, N, None),
]

ILLEGAL: list[tuple[State, Event, str]] = [
    (N, Event.ACK, "only an unacknowledged alarm"),
    (N, Event.SHELVE, "only an annunciated alarm"),
    (N, Event.UNSHELVE, "only a shelved alarm"),
    (N, Event.REMOVE, "already closed"),
    (N, Event.RESTORE, "only an out-of-service alarm"),
    (N, Event.CLEAR, "already closed"),
    (UA, Event.UNSHELVE, "only a shelved alarm"),
    (UA, Event.RESTORE, "only an out-of-service alarm"),
    (AA, Event.ACK, "only an unacknowledged alarm"),
    (AA, Event.UNSHELVE, "only a shelved alarm"),
    (AA, Event.RESTORE, "only an out-of-service alarm"),
    (RU, Event.UNSHELVE, "only a shelved alarm"),
    (RU, Event.RESTORE, "only an out-of-service alarm"),
    (SH, Event.ACK, "only an unacknowledged alarm"),
    (SH, Event.SHELVE, "only an annunciated alarm"),
    (SH, Event.RESTORE, "only an out-of-service alarm"),
    (SU, Event.ACK, "only an unacknowledged alarm"),
    (SU, Event.SHELVE, "only an annunciated alarm"),
    (SU, Event.UNSHELVE, "only a shelved alarm"),
    (SU, Event.RESTORE, "only an out-of-service alarm"),
    (OOS, Event.ACK, "only an unacknowledged alarm"),
    (OOS, Event.SHELVE, "only an annunciated alarm"),
    (OOS, Event.UNSHELVE, "only a shelved alarm"),
    (OOS, Event.REMOVE, "already out of service"),
]


@pytest.mark.parametrize(("state", "event", "active", "target", "notice"), LEGAL)
def test_legal_transition(
    state: State, event: Event, active: bool, target: State, notice: NoticeKind | None
) -> None:
    out = transition(state, event, condition_active=active)
    assert (out.state, out.notice) == (target, notice)
    assert out.closed is (target is State.NORMAL)


@pytest.mark.parametrize(("state", "event", "why"), ILLEGAL)
def test_illegal_transition_is_a_409_naming_the_state(state: State, event: Event, why: str) -> None:
    with pytest.raises(IllegalTransition) as err:
        transition(state, event, condition_active=True)
    assert err.value.status == 409
    assert err.value.code == "illegal_transition"
    assert repr(state.value) in err.value.message
    assert why in err.value.message


def test_table_covers_every_pair() -> None:
    covered = {(s, e) for s, e, *_ in LEGAL} | {(s, e) for s, e, _ in ILLEGAL}
    assert covered == {(s, e) for s in State for e in Event}


def test_repeated_return_to_normal_changes_nothing() -> None:
    assert not transition(RU, Event.RTN, condition_active=False).changed
    assert transition(UA, Event.ACTIVE, condition_active=True).changed  # a repeat: counted


@pytest.mark.parametrize(
    ("severity", "override", "expected"),
    [
        (Severity.CRITICAL, None, 1),
        (Severity.HIGH, None, 2),
        (Severity.MEDIUM, None, 3),
        (Severity.LOW, None, 4),
        (Severity.LOW, 1, 1),
    ],
)
def test_priority(severity: Severity, override: int | None, expected: int) -> None:
    assert priority_of(severity, override) == expected


def test_priority_override_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"1\.\.4"):
        priority_of(Severity.LOW, 5)
