"""ISO 22400-2 OEE on a hand-computed eight-hour shift, counter resets, gaps and a machine
without an ideal cycle time."""

from __future__ import annotations

import pytest

from helan.apps.builtin.equipment.counters import increments, per_bucket
from helan.apps.builtin.equipment.shifts import Shift, ShiftCalendar
from helan.apps.builtin.equipment.timeline import Segment, durations, overlay_planned, timeline
from helan.apps.builtin.oee.kpi import combine, machine_oee

S = 1000  # ms per second
# 0-4 h run, 120 s idle (a minor stop), run, 600 s idle (setup), 1800 s down, run to 8 h.
CHANGES = [(0, "run"), (14400, "idle"), (14520, "run"), (20400, "idle"), (21000, "down"),
           (22800, "run")]  # fmt: skip
END = 28800


def shift_segments() -> list[Segment]:
    ts = [t * S for t, _ in CHANGES]
    return timeline(ts, [s for _, s in CHANGES], 0, END * S, max_gap_ms=10 * 3600 * S)


def hand_example():  # type: ignore[no-untyped-def]
    parts = [(3600 * S, 200.0), (20000 * S, 100.0), (28000 * S, 100.0)]
    rejects = [(5000 * S, 6.0), (23000 * S, 4.0)]  # 4 within 600 s of the restart at 22800
    return machine_oee(shift_segments(), parts, rejects, 60.0)


def test_hand_computed_availability() -> None:
    assert hand_example().availability == pytest.approx(26280 / 28800)  # 0.9125


def test_hand_computed_performance() -> None:
    assert hand_example().performance == pytest.approx(400 * 60 / 26280)


def test_hand_computed_quality() -> None:
    assert hand_example().quality == pytest.approx(390 / 400)


def test_hand_computed_oee_is_good_parts_ideal_time_over_planned_time() -> None:
    assert hand_example().oee == pytest.approx(390 * 60 / 28800)  # 0.8125


def test_six_losses_by_hand() -> None:
    assert hand_example().losses_s == pytest.approx(
        {
            "breakdowns": 1800.0,
            "setup_adjustments": 600.0,
            "small_stops": 120.0,
            "reduced_speed": 26280.0 - 24000.0,
            "startup_rejects": 4 * 60.0,
            "production_rejects": 6 * 60.0,
        }
    )


def test_losses_and_valuable_time_add_up_to_planned_busy_time() -> None:
    result = hand_example()
    losses = sum(v for v in result.losses_s.values() if v is not None)
    assert losses + result.good * 60.0 == pytest.approx(result.pbt_s)


def test_mtbf_and_mttr() -> None:
    result = hand_example()
    assert (result.failures, result.mtbf_s, result.mttr_s) == (1, 26280.0, 1800.0)


def test_no_ideal_cycle_time_gives_a_status_not_an_oee() -> None:
    result = machine_oee(shift_segments(), [(0, 400.0)], [(0, 10.0)], None)
    assert (result.status, result.oee, result.performance) == ("no_ideal_cycle_time", None, None)


def test_no_ideal_cycle_time_keeps_availability() -> None:
    result = machine_oee(shift_segments(), [(0, 400.0)], [], 0.0)
    assert result.availability == pytest.approx(0.9125)


def test_line_ratios_leave_out_a_machine_without_ideal_cycle_time() -> None:
    with_ideal = hand_example()
    without = machine_oee(shift_segments()[:1], [(0, 5.0)], [], None)
    line = combine([with_ideal, without])
    assert (line.oee, line.without_ideal_cycle, line.machines) == (
        pytest.approx(0.8125),
        1,
        2,
    )


def test_gap_is_unknown_not_run_and_not_in_planned_time() -> None:
    segs = timeline([0, 100 * S], ["run", "run"], 0, 400 * S, max_gap_ms=60 * S)
    assert durations(segs)["unknown"] == 280 * S  # 60-100 s and 160-400 s


def test_gap_leaves_availability_unchanged() -> None:
    segs = timeline([0, 100 * S], ["run", "run"], 0, 400 * S, max_gap_ms=60 * S)
    result = machine_oee(segs, [], [], 60.0)
    assert (result.availability, result.coverage) == (1.0, pytest.approx(120 / 400))


def test_clock_jump_back_is_sorted_not_negative() -> None:
    segs = timeline([100 * S, 0, 50 * S], ["idle", "run", "down"], 0, 150 * S)
    assert [s.state for s in segs] == ["run", "down", "idle"]


def test_unknown_state_text_is_unknown() -> None:
    segs = timeline([0], ["WARMUP?"], 0, 10 * S)
    assert segs == [Segment(0, 10 * S, "unknown")]


def test_counter_reset_counts_the_new_value() -> None:
    inc = increments([0, 10, 20, 30], [1000, 1010, 4, 9])
    assert (inc.total, inc.resets) == (10 + 4 + 5, 1)


def test_counter_rollover_at_register_top() -> None:
    inc = increments([0, 10], [65530, 4], rollover=65536)
    assert (inc.total, inc.rollovers, inc.resets) == (10, 1, 0)


def test_nan_and_negative_readings_are_dropped() -> None:
    inc = increments([0, 10, 20, 30], [5, float("nan"), -3, 8])
    assert (inc.total, inc.dropped) == (3, 2)


def test_frozen_counter_counts_nothing() -> None:
    assert increments([0, 10, 20], [7, 7, 7]).total == 0


def test_missing_interval_is_shared_over_its_buckets() -> None:
    inc = increments([0, 30 * S], [0.0, 30.0])
    assert per_bucket(inc, 0, 30 * S, 10 * S).tolist() == [10.0, 10.0, 10.0]


def test_shift_calendar_breaks_are_planned_stops() -> None:
    cal = ShiftCalendar(
        zone="UTC",
        shifts=(Shift(name="A", start="08:00", end="16:00", breaks=(("12:00", "12:30"),)),),
    )
    day = 86_400 * S
    segs = overlay_planned(timeline([0], ["run"], 0, day, max_gap_ms=day), cal.not_planned(0, day))
    assert durations(segs)["run"] == 7.5 * 3600 * S


def test_night_shift_crosses_midnight_in_china_time() -> None:
    cal = ShiftCalendar(shifts=(Shift(name="N", start="22:00", end="06:00"),))
    # 2024-01-01 22:00 Asia/Shanghai is 14:00 UTC
    start = 1_704_117_600 * S
    inst = cal.instances(start, start + 3600 * S)
    assert [(i.name, i.start_ms, i.end_ms - i.start_ms) for i in inst] == [
        ("N", start, 8 * 3600 * S)
    ]


def test_break_outside_its_shift_is_refused() -> None:
    cal = ShiftCalendar(
        zone="UTC",
        shifts=(Shift(name="A", start="08:00", end="16:00", breaks=(("17:00", "17:30"),)),),
    )
    with pytest.raises(ValueError, match="outside the shift"):
        cal.instances(0, 86_400 * S)


def test_unknown_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        ShiftCalendar(zone="Mars/Olympus")
