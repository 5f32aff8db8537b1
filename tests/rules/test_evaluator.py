"""The evaluator over committed data: every condition kind raises and clears at device time,
durations, all/any/not, the column-wise threshold layers against the per-point Python path on
random data, the late-data policy, the historical flag, snapshot/restore with replay, and
rules that go away."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helan.core.events import EventRow
from helan.core.points import batch_from_columns
from helan.rules.checks import parse_spec
from helan.rules.contracts import ConditionChange
from helan.rules.evaluator import ActiveRule, Evaluator

HOT = {"kind": "threshold", "metric": "temp", "op": ">", "value": 80}
S = 1000  # ms


def rule(
    condition: Any,
    rule_id: str = "r",
    devices: Sequence[str] = ("p1",),
    *,
    tenant: str = "acme",
    version: int = 1,
    **extra: Any,
) -> ActiveRule:
    spec = parse_spec(
        {"name": rule_id, "target": {"device_type": "pump"}, "condition": condition, **extra}
    )
    return ActiveRule(tenant, rule_id, version, spec, frozenset(devices))


Row = tuple[str, str, int, float | bool | str | None]


def points(*rows: Row, tenant: str = "acme") -> pa.Table:
    """(device, metric, ts, value): strings go to ``text``, booleans are stored as 0/1."""
    values = [float(v) if isinstance(v, bool | int | float) else None for *_, v in rows]
    return batch_from_columns(
        [tenant] * len(rows),
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        values,
        [r[3] if isinstance(r[3], str) else None for r in rows],
    )


def event(ts: int, name: str, device: str = "p1", **data: object) -> EventRow:
    return EventRow("acme", device, ts, name, "info", dict(data))


def seen(changes: Sequence[ConditionChange]) -> list[tuple[str, str, bool, int]]:
    return [(c.rule_id, c.device, c.active, c.ts_ms) for c in changes]


# -- each condition kind raises and clears --------------------------------------------------


def test_threshold_raises_and_clears_at_device_time() -> None:
    ev = Evaluator([rule(HOT, message="temp {temp} on {device_name}")])
    assert ev.points(points(("p1", "temp", 1 * S, 79.0))) == []
    (up,) = ev.points(points(("p1", "temp", 2 * S, 80.5), ("p1", "temp", 3 * S, 90.0)))
    assert (up.active, up.ts_ms, up.values, up.rule_version) == (True, 2 * S, {"temp": 80.5}, 1)
    assert up.message == "temp 80.5 on {device_name}"  # unknown names stay as written
    (down,) = ev.points(points(("p1", "temp", 4 * S, 80.0)))
    assert (down.active, down.ts_ms, down.values) == (False, 4 * S, {"temp": 80.0})
    assert ev.active() == []


@pytest.mark.parametrize(
    ("condition", "values", "expected"),
    [
        (
            {"kind": "range", "metric": "temp", "min": 10, "max": 20},
            [15, 25, 20, 9, 10],
            [1, 2, 3, 4],
        ),
        (
            {"kind": "range", "metric": "temp", "min": 10, "max": 20, "inside": True},
            [5, 10, 21, 20],
            [1, 2, 3],
        ),
        ({"kind": "threshold", "metric": "temp", "op": "<=", "value": 3}, [4, 3, 2, 3.5], [1, 3]),
        ({"kind": "threshold", "metric": "temp", "op": "==", "value": 3}, [3, 3, 4], [0, 2]),
        ({"kind": "threshold", "metric": "temp", "op": "!=", "value": 3}, [3, 4, 3], [1, 2]),
        (
            {"kind": "threshold", "metric": "state", "op": "==", "value": "jam"},
            ["run", "jam", "jam", "run"],
            [1, 3],
        ),
        (
            {"kind": "threshold", "metric": "state", "op": "!=", "value": "run"},
            ["run", "idle", "run"],
            [1, 2],
        ),
        (
            {"kind": "threshold", "metric": "on", "op": "==", "value": True},
            [False, True, False],
            [1, 2],
        ),
        ({"kind": "expr", "expr": "temp > 10.0 && temp < 20.0"}, [5, 15, 16, 25], [1, 3]),
        (
            {"not": {"kind": "threshold", "metric": "temp", "op": ">", "value": 5}},
            [10, 1, 10],
            [1, 2],
        ),
    ],
    ids=["range-out", "range-in", "le", "eq", "ne", "text-eq", "text-ne", "bool", "expr", "not"],
)
def test_point_conditions_raise_and_clear(
    condition: dict[str, Any], values: list[Any], expected: list[int]
) -> None:
    """``expected``: indices of the points at which the condition changes (raise, clear...)."""
    ev = Evaluator([rule(condition)])
    metric = str(condition.get("metric") or condition.get("not", {}).get("metric") or "temp")
    changes: list[ConditionChange] = []
    for i, v in enumerate(values):
        changes += ev.points(points(("p1", metric, (i + 1) * S, v)))
    assert [c.ts_ms for c in changes] == [(i + 1) * S for i in expected]
    assert [c.active for c in changes] == [k % 2 == 0 for k in range(len(expected))]


def test_expression_sees_every_metric_of_one_time_once() -> None:
    ev = Evaluator([rule({"kind": "expr", "expr": "temp > 80.0 && pressure < 2.0"})])
    # temp alone at t=1 is undefined (no pressure yet): not true, counted
    assert ev.points(points(("p1", "temp", 1 * S, 90.0))) == []
    assert ev.undefined == 1
    (up,) = ev.points(points(("p1", "pressure", 2 * S, 1.0), ("p1", "temp", 2 * S, 85.0)))
    assert (up.ts_ms, up.values) == (2 * S, {"temp": 85.0, "pressure": 1.0})
    # both move at t=3; evaluated after both: still true
    assert ev.points(points(("p1", "temp", 3 * S, 81.0), ("p1", "pressure", 3 * S, 1.5))) == []
    (down,) = ev.points(points(("p1", "pressure", 4 * S, 5.0)))
    assert down.active is False


def test_aggregate_windows_in_device_time() -> None:
    avg = {
        "kind": "aggregate",
        "metric": "temp",
        "fn": "avg",
        "window_s": 10,
        "op": ">",
        "value": 50,
    }
    count = {
        "kind": "aggregate",
        "metric": "temp",
        "fn": "count",
        "window_s": 10,
        "op": ">=",
        "value": 3,
    }
    top = {
        "kind": "aggregate",
        "metric": "temp",
        "fn": "max",
        "window_s": 10,
        "op": ">",
        "value": 95,
    }
    low = {
        "kind": "aggregate",
        "metric": "temp",
        "fn": "min",
        "window_s": 10,
        "op": "<",
        "value": 1,
    }
    ev = Evaluator([rule(avg, "avg"), rule(count, "count"), rule(top, "max"), rule(low, "min")])
    changes = ev.points(
        points(
            ("p1", "temp", 0 * S, 40.0),  # avg 40
            ("p1", "temp", 1 * S, 70.0),  # avg 55: avg raises
            ("p1", "temp", 2 * S, 99.0),  # 3 points: count raises, max raises
            ("p1", "temp", 12 * S, 0.5),  # window 2..12 s: avg 49.75 clears; min raises
            ("p1", "temp", 30 * S, 10.0),  # alone in its window: everything clears
        )
    )
    assert seen(changes) == [
        ("avg", "p1", True, 1 * S),
        ("count", "p1", True, 2 * S),
        ("max", "p1", True, 2 * S),
        ("avg", "p1", False, 12 * S),  # the window is 2..12 s: 99 and 0.5
        ("count", "p1", False, 12 * S),
        ("min", "p1", True, 12 * S),
        ("max", "p1", False, 30 * S),
        ("min", "p1", False, 30 * S),
    ]


def test_rate_of_change_per_second() -> None:
    rising = {"kind": "rate", "metric": "temp", "window_s": 10, "op": ">", "value": 2}
    ev = Evaluator([rule(rising)])
    assert ev.points(points(("p1", "temp", 0, 20.0))) == []  # one point: no rate yet
    (up,) = ev.points(points(("p1", "temp", 5 * S, 35.0)))  # 3 / s
    assert (up.active, up.ts_ms) == (True, 5 * S)
    (down,) = ev.points(points(("p1", "temp", 20 * S, 40.0)))  # window 10..20 s: 5..20 out
    assert (down.active, down.ts_ms) == (False, 20 * S)


def test_no_data_for_a_metric_and_for_the_whole_device() -> None:
    quiet = {"kind": "no_data", "for_s": 30}
    no_temp = {"kind": "no_data", "metric": "temp", "for_s": 30}
    ev = Evaluator([rule(quiet, "quiet"), rule(no_temp, "no-temp")])
    assert ev.tick(10**9) == []  # never heard: no baseline, nothing raised
    ev.points(points(("p1", "temp", 1 * S, 1.0)))
    ev.points(points(("p1", "pressure", 20 * S, 1.0)))
    assert ev.tick(30 * S) == []
    # dated when the silence passed 30 s, whenever the tick noticed it
    assert seen(ev.tick(45 * S)) == [("no-temp", "p1", True, 31 * S)]
    assert seen(ev.tick(70 * S)) == [("quiet", "p1", True, 50 * S)]
    assert ev.tick(71 * S) == []
    # data clears at the time it came, without waiting for a tick
    assert seen(ev.points(points(("p1", "pressure", 80 * S, 1.0)))) == [
        ("quiet", "p1", False, 80 * S)
    ]
    assert seen(ev.points(points(("p1", "temp", 85 * S, 1.0), ("p1", "temp", 86 * S, 1.0)))) == [
        ("no-temp", "p1", False, 85 * S)
    ]


def test_no_data_ends_with_the_device_coming_online() -> None:
    ev = Evaluator([rule({"kind": "no_data", "for_s": 30})])
    ev.points(points(("p1", "temp", 0, 1.0)))
    assert seen(ev.tick(40 * S)) == [("r", "p1", True, 30 * S)]
    assert ev.events([event(50 * S, "device_offline")]) == []  # the watchdog's: not heard
    assert ev.tick(60 * S) == []
    assert seen(ev.events([event(70 * S, "device_online")])) == [("r", "p1", False, 70 * S)]


def test_online_and_offline() -> None:
    ev = Evaluator([rule({"kind": "online", "state": "offline"})])
    (down,) = ev.events([event(5 * S, "device_offline")])
    assert (down.active, down.ts_ms, down.values) == (True, 5 * S, {"event": "device_offline"})
    (up,) = ev.events([event(9 * S, "device_online")])
    assert (up.active, up.ts_ms) == (False, 9 * S)


def test_device_event_with_field_filter_clear_event_and_hold() -> None:
    jam = {"kind": "event", "type": "jam", "where": {"axis": "x", "n": 2}, "clear_type": "reset"}
    held = {"kind": "event", "type": "jam", "hold_s": 30}
    ev = Evaluator([rule(jam, "jam"), rule(held, "held")])
    changes = ev.events([event(1 * S, "jam", axis="y", n=2)])
    assert seen(changes) == [("held", "p1", True, 1 * S)]  # jam's filter does not match
    changes = ev.events([event(2 * S, "jam", axis="x", n=2.0)])  # 2 == 2.0
    assert seen(changes) == [("jam", "p1", True, 2 * S)]
    assert changes[0].values == {"event": "jam", "axis": "x", "n": 2.0}
    assert ev.tick(31 * S) == []  # the hold restarted at the second jam
    assert seen(ev.tick(60 * S)) == [("held", "p1", False, 32 * S)]  # dated when it ran out
    assert ev.events([event(61 * S, "other")]) == []
    assert ev.tick(3600 * S) == []  # with a clear_type, hold_s does not end it
    assert seen(ev.events([event(3601 * S, "reset")])) == [("jam", "p1", False, 3601 * S)]


def _utc(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)  # type: ignore[misc]


def test_schedule_shift_across_midnight_calendar_and_time_zone() -> None:
    night = {
        "kind": "schedule",
        "days": ["mon"],
        "start": "22:00",
        "end": "06:00",
        "timezone": "Asia/Shanghai",  # UTC+8
        "exclude": ["2024-01-08"],
    }
    ev = Evaluator([rule(night)])
    monday_22_local = _utc(2024, 1, 1, 14)
    assert ev.tick(monday_22_local - 1) == []
    assert seen(ev.tick(monday_22_local)) == [("r", "p1", True, monday_22_local)]
    assert ev.tick(monday_22_local + 7 * 3600 * S) == []  # Tuesday 05:00: Monday's shift
    tuesday_6 = monday_22_local + 8 * 3600 * S
    assert seen(ev.tick(tuesday_6)) == [("r", "p1", False, tuesday_6)]
    assert ev.tick(monday_22_local + 24 * 3600 * S) == []  # Tuesday 22:00: not a shift day
    assert ev.tick(monday_22_local + 7 * 24 * 3600 * S) == []  # next Monday: excluded


def test_unknown_stays_unknown_through_not() -> None:
    """Before the first value of p, ``not (p < 1)`` is unknown, so neither it nor a tree
    that needs it holds; ``any`` with a true branch holds all the same."""
    ev = Evaluator(
        [
            rule({"not": {"kind": "expr", "expr": "p < 1.0"}}, "not"),
            rule({"all": [HOT, {"not": {"kind": "online", "state": "online"}}]}, "all"),
            rule({"any": [HOT, {"not": {"kind": "online", "state": "online"}}]}, "any"),
        ]
    )
    assert seen(ev.points(points(("p1", "temp", S, 90.0)))) == [("any", "p1", True, S)]
    assert seen(ev.points(points(("p1", "p", 2 * S, 3.0)))) == [("not", "p1", True, 2 * S)]
    assert seen(ev.events([event(3 * S, "device_offline")])) == [("all", "p1", True, 3 * S)]


def test_all_any_not() -> None:
    cond = {
        "all": [
            HOT,
            {
                "any": [
                    {"kind": "online", "state": "online"},
                    {"not": {"kind": "expr", "expr": "p < 1.0"}},
                ]
            },
        ]
    }
    ev = Evaluator([rule(cond)])
    assert ev.points(points(("p1", "temp", 1 * S, 90.0), ("p1", "p", 1 * S, 0.5))) == []
    (up,) = ev.points(points(("p1", "p", 2 * S, 3.0)))  # not(p < 1) now holds
    assert (up.active, up.ts_ms) == (True, 2 * S)
    assert ev.events([event(3 * S, "device_online")]) == []  # any: still true
    assert ev.points(points(("p1", "p", 4 * S, 0.1))) == []  # online carries it
    (down,) = ev.events([event(5 * S, "device_offline")])
    assert (down.active, down.ts_ms) == (False, 5 * S)
    ev.points(points(("p1", "p", 6 * S, 9.0)))
    (down2,) = ev.points(points(("p1", "temp", 7 * S, 20.0)))  # all: temp no longer hot
    assert (down2.active, down2.ts_ms) == (False, 7 * S)


# -- durations -------------------------------------------------------------------------------


def test_for_s_and_clear_for_s_in_device_time() -> None:
    ev = Evaluator([rule(HOT, for_s=10, clear_for_s=5)])
    assert ev.points(points(("p1", "temp", 0, 90.0), ("p1", "temp", 9 * S, 91.0))) == []
    # a later point of the device passes the duration: active from when it was due
    (up,) = ev.points(points(("p1", "temp", 12 * S, 92.0)))
    assert (up.active, up.ts_ms) == (True, 10 * S)
    # a dip shorter than clear_for_s does not clear
    assert ev.points(points(("p1", "temp", 13 * S, 10.0), ("p1", "temp", 16 * S, 95.0))) == []
    assert ev.points(points(("p1", "temp", 20 * S, 10.0))) == []
    # the passing of time alone completes it too, dated when it was due
    (down,) = ev.tick(40 * S)
    assert (down.active, down.ts_ms) == (False, 25 * S)
    # a blip shorter than for_s raises nothing
    assert ev.points(points(("p1", "temp", 41 * S, 95.0), ("p1", "temp", 45 * S, 1.0))) == []
    assert ev.tick(100 * S) == []


def test_for_s_on_other_devices_data_does_not_complete() -> None:
    ev = Evaluator([rule(HOT, devices=("p1", "p2"), for_s=10)])
    ev.points(points(("p1", "temp", 0, 90.0)))
    assert ev.points(points(("p2", "temp", 60 * S, 1.0))) == []  # p2's time is not p1's
    assert seen(ev.tick(60 * S)) == [("r", "p1", True, 10 * S)]


# -- column-wise layers against the per-point path ------------------------------------------

TWINS = [
    ({"kind": "threshold", "metric": "t", "op": ">", "value": 5}, "t > 5.0"),
    ({"kind": "threshold", "metric": "t", "op": "<=", "value": 3}, "t <= 3.0"),
    ({"kind": "threshold", "metric": "t", "op": ">", "value": 7}, "t > 7.0"),  # a 2nd > layer
    ({"kind": "threshold", "metric": "t", "op": "==", "value": 4}, "t == 4.0"),
    ({"kind": "range", "metric": "t", "min": 2, "max": 6}, "t < 2.0 || t > 6.0"),
    ({"kind": "range", "metric": "t", "min": 2, "max": 6, "inside": True}, "t >= 2.0 && t <= 6.0"),
]
DEVICES = ("p1", "p2", "p3")


def _reference(rows: list[tuple[int, int, float]], twin: int) -> list[tuple[str, bool, int]]:
    """The late-data policy and the condition, one point at a time, by hand."""
    op = TWINS[twin][0]
    last: dict[str, int] = {}
    active: dict[str, bool] = {}
    out = []
    for d, ts, v in rows:
        device = DEVICES[d]
        if ts <= last.get(device, -(2**63)):
            continue
        last[device] = ts
        if math.isnan(v):
            cond = False
        elif op["kind"] == "range":
            inside = op["min"] <= v <= op["max"]
            cond = inside if op.get("inside") else not inside
        else:
            cond = {">": v > op["value"], "<=": v <= op["value"], "==": v == op["value"]}[op["op"]]
        if cond != active.get(device, False):
            active[device] = cond
            out.append((device, cond, ts))
    return out


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 2),
            st.integers(0, 40),
            st.sampled_from([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, math.nan]),
        ),
        max_size=60,
    ),
    cuts=st.lists(st.integers(0, 60), max_size=5),
)
def test_layers_and_python_path_agree_on_random_data(
    rows: list[tuple[int, int, float]], cuts: list[int]
) -> None:
    rules = [rule(cond, f"v{i}", DEVICES) for i, (cond, _) in enumerate(TWINS)]
    rules += [rule({"kind": "expr", "expr": e}, f"p{i}", DEVICES) for i, (_, e) in enumerate(TWINS)]
    ev = Evaluator(rules)
    assert len(ev._layers["t"]) >= 5  # the vector path is the one under test
    changes: list[ConditionChange] = []
    bounds = sorted({0, len(rows), *(c for c in cuts if c < len(rows))})
    for lo, hi in itertools.pairwise(bounds):
        part = rows[lo:hi]
        changes += ev.points(points(*((DEVICES[d], "t", ts, v) for d, ts, v in part)))
    for i in range(len(TWINS)):
        vector = [(c.device, c.active, c.ts_ms) for c in changes if c.rule_id == f"v{i}"]
        python = [(c.device, c.active, c.ts_ms) for c in changes if c.rule_id == f"p{i}"]
        expected = _reference(rows, i)
        assert sorted(vector) == sorted(expected), TWINS[i]
        assert sorted(python) == sorted(expected), TWINS[i]
        for device in DEVICES:  # per device, in time order
            mine = [c for c in vector if c[0] == device]
            assert mine == [c for c in expected if c[0] == device]


def test_many_rules_on_many_devices_in_one_batch() -> None:
    devices = [f"d{i}" for i in range(500)]
    rules = [
        rule(
            {"kind": "threshold", "metric": "t", "op": ">", "value": i % 10},
            f"r{i}",
            devices[i::50],
        )
        for i in range(50)
    ]
    ev = Evaluator(rules)
    rng = random.Random(7)
    rows = [(d, "t", ts, float(rng.randint(0, 12))) for ts in range(1, 41) for d in devices]
    changes = ev.points(points(*rows))
    assert ev.evaluated == len(rows)
    expected = 0
    for i in range(50):
        for d in devices[i::50]:
            state = False
            for _, _, _, v in (r for r in rows if r[0] == d):
                if (v > i % 10) != state:
                    state = not state
                    expected += 1
    assert len(changes) == expected


# -- late and out-of-order data ---------------------------------------------------------------


def test_late_and_out_of_order_points_are_ignored_and_counted() -> None:
    ev = Evaluator([rule(HOT), rule({"kind": "expr", "expr": "temp > 80.0"}, "x")])
    first = ev.points(points(("p1", "temp", 10 * S, 90.0)))
    assert seen(first) == [("r", "p1", True, 10 * S), ("x", "p1", True, 10 * S)]
    # older than the last point, the same time again, and out of order within a batch
    late = points(
        ("p1", "temp", 5 * S, 1.0),
        ("p1", "temp", 10 * S, 1.0),
        ("p1", "temp", 12 * S, 95.0),
        ("p1", "temp", 11 * S, 1.0),
    )
    assert ev.points(late) == []
    assert ev.late == 6  # three points, each counted by both paths
    (r, x) = sorted(ev.points(points(("p1", "temp", 13 * S, 1.0))), key=lambda c: c.rule_id)
    assert (r.ts_ms, x.ts_ms, r.active, x.active) == (13 * S, 13 * S, False, False)


def test_late_events_are_ignored_and_counted() -> None:
    ev = Evaluator([rule({"kind": "event", "type": "jam", "clear_type": "reset"})])
    ev.events([event(10 * S, "jam"), event(20 * S, "reset")])
    assert ev.events([event(15 * S, "jam")]) == []  # before the device's last event
    assert ev.events([event(20 * S, "reset")]) == []  # the same event again
    assert ev.late == 2
    (up,) = ev.events([event(20 * S, "jam")])  # another event at the same time is not late
    assert up.active is True


def test_points_of_other_tenants_and_devices_are_not_evaluated() -> None:
    ev = Evaluator([rule(HOT)])
    assert ev.points(points(("p1", "temp", S, 99.0), tenant="bolt")) == []
    assert ev.points(points(("p9", "temp", S, 99.0))) == []
    assert ev.events([EventRow("bolt", "p1", S, "device_offline", "warning", {})]) == []
    assert ev.evaluated == 0


# -- historical data ---------------------------------------------------------------------


def test_historical_flag_and_notify_historical_are_carried() -> None:
    backfill = Evaluator([rule(HOT, notify_historical=True), rule(HOT, "quiet")], historical=True)
    changes = backfill.points(points(("p1", "temp", S, 99.0)), committed_ms=5 * S)
    assert sorted(
        (c.rule_id, c.historical, c.notify_historical, c.committed_ms) for c in changes
    ) == [
        ("quiet", True, False, 5 * S),
        ("r", True, True, 5 * S),
    ]
    (live,) = Evaluator([rule(HOT)]).points(points(("p1", "temp", S, 99.0)))
    assert (live.historical, live.notify_historical) == (False, False)


# -- restart and rule changes ---------------------------------------------------------------


def _everything() -> list[ActiveRule]:
    return [
        rule(HOT, "hot", ("p1", "p2"), for_s=3),
        rule({"kind": "expr", "expr": "temp > 50.0 && pressure > 1.0"}, "expr", ("p1", "p2")),
        rule(
            {
                "kind": "aggregate",
                "metric": "temp",
                "fn": "avg",
                "window_s": 20,
                "op": ">",
                "value": 60,
            },
            "avg",
            ("p1",),
        ),
        rule(
            {"kind": "rate", "metric": "pressure", "window_s": 10, "op": ">", "value": 0.1},
            "rate",
            ("p1",),
        ),
        rule({"kind": "event", "type": "jam", "clear_type": "reset"}, "jam", ("p1", "p2")),
        rule({"kind": "online", "state": "offline"}, "offline", ("p2",)),
        rule({"kind": "no_data", "metric": "pressure", "for_s": 15}, "silent", ("p1",)),
    ]


SCRIPT: list[tuple[dict[str, tuple[float, float | None]], list[tuple[str, str]]]] = [
    # device -> (temp, pressure or None: not sent); events (device, name) after the points
    ({"p1": (85.0, 2.0), "p2": (85.0, 2.0)}, [("p2", "device_offline")]),
    ({"p1": (90.0, 5.0), "p2": (40.0, 2.0)}, [("p1", "jam")]),
    ({"p1": (95.0, None), "p2": (90.0, 2.0)}, []),
    ({"p1": (40.0, None), "p2": (90.0, 0.5)}, [("p2", "jam")]),
    ({"p1": (30.0, None), "p2": (10.0, 0.5)}, [("p1", "reset")]),
    ({"p1": (30.0, 1.0), "p2": (10.0, 0.5)}, [("p2", "device_online"), ("p2", "reset")]),
]


def _traffic(start: int) -> tuple[list[pa.Table], list[list[EventRow]]]:
    """Six batches 6 s apart from ``start`` s that move every rule of :func:`_everything`."""
    tables, events = [], []
    for k, (values, happened) in enumerate(SCRIPT):
        ts = (start + k * 6) * S
        rows: list[Row] = []
        for device, (temp, pressure) in values.items():
            rows.append((device, "temp", ts, temp))
            if pressure is not None:
                rows.append((device, "pressure", ts, pressure))
        tables.append(points(*rows))
        events.append(
            [event(ts + 3 + i, name, device) for i, (device, name) in enumerate(happened)]
        )
    return tables, events


def _run(ev: Evaluator, tables: list[pa.Table], events: list[list[EventRow]]) -> list[Any]:
    out: list[Any] = []
    for table, rows in zip(tables, events, strict=True):
        out += ev.points(table) + ev.events(rows)
        out += ev.tick(int(table["ts"].to_numpy().max()) + 1)
    return [(c.rule_id, c.device, c.active, c.ts_ms) for c in out]


def test_snapshot_restore_then_replay_raises_nothing_twice() -> None:
    rules = _everything()
    first = Evaluator(rules)
    before = _run(first, *_traffic(0))
    assert {r for r, *_ in before} >= {"hot", "expr", "avg", "jam", "offline", "silent"}
    snap = first.snapshot()
    tail = _traffic(36)
    after = _run(first, *tail)

    again = Evaluator()
    assert again.load(rules, carry=snap) == []
    replayed = _run(again, *_traffic(0))  # the margin before the checkpoint comes again
    assert replayed == []
    assert _run(again, *tail) == after  # and the rest goes on exactly as it did
    assert sorted(again.active()) == sorted(first.active())


def test_restore_of_a_new_rule_version_keeps_an_active_condition() -> None:
    ev = Evaluator([rule(HOT)])
    ev.points(points(("p1", "temp", S, 99.0)))
    bumped = rule({**HOT, "value": 95}, version=2)
    assert ev.load([bumped]) == []  # still active: nothing returns to normal on an edit
    assert ev.active() == [("acme", "r", "p1")]
    (down,) = ev.points(points(("p1", "temp", 2 * S, 90.0)))  # the new threshold decides
    assert (down.active, down.rule_version) == (False, 2)


def test_load_of_removed_rule_or_device_gives_clears() -> None:
    ev = Evaluator([rule(HOT, devices=("p1", "p2")), rule(HOT, "other")])
    ev.points(points(("p1", "temp", S, 99.0), ("p2", "temp", S, 99.0)))
    narrowed = ev.load([rule(HOT, devices=("p2",)), rule(HOT, "other")])
    assert [(c.rule_id, c.device, c.active) for c in narrowed] == [("r", "p1", False)]
    assert narrowed[0].message == "rule removed or no longer covers the device"
    gone = ev.load([rule(HOT, "other", enabled=False)])  # deleted, and disabled
    assert sorted((c.rule_id, c.device, c.active) for c in gone) == [
        ("other", "p1", False),
        ("r", "p2", False),
    ]
    assert ev.active() == []
    assert ev.load([]) == []


def test_suppressed_while_the_suppress_condition_holds() -> None:
    maint = {"kind": "threshold", "metric": "mode", "op": "==", "value": "maintenance"}
    ev = Evaluator([rule(HOT, suppress=maint)])
    ev.points(points(("p1", "mode", S, "maintenance")))
    (up,) = ev.points(points(("p1", "temp", 2 * S, 99.0)))
    assert (up.active, up.suppressed) == (True, True)
    ev.points(points(("p1", "mode", 3 * S, "run")))
    (down,) = ev.points(points(("p1", "temp", 4 * S, 1.0)))
    assert (down.active, down.suppressed) == (False, False)
    (again,) = ev.points(points(("p1", "temp", 5 * S, 99.0)))
    assert again.suppressed is False
