"""The ISA-18.2 performance report on a history made by hand, against numbers worked out by
hand: rates per operator, floods, chattering, stale alarms, top 10, severity and priority."""

from __future__ import annotations

import pytest

from helan.core.errors import ValidationFailed
from helan.rules.alarms.report import performance_report
from helan.rules.contracts import Severity

from .conftest import Env, change

T0 = 1_700_000_400_000  # a 10-minute boundary (no matter: periods start at 'start')
H = 3_600_000
END = T0 + H  # six 10-minute periods


def build(env: Env) -> None:
    apply = env.service.apply
    # Before the range: one alarm active since 25 h before the start (stale), one that was
    # active for 25 h but returned 5 h before the start (not stale within the range).
    apply([change(T0 - 25 * H, device="old")])
    apply([change(T0 - 30 * H, device="older"), change(T0 - 5 * H, False, device="older")])
    # Periods 0 and 1: 12 then 11 alarms, one per device.
    apply([change(T0 + i * 1000, device=f"d{i}") for i in range(12)])
    apply([change(T0 + 600_000 + i * 1000, device=f"d{12 + i}") for i in range(11)])
    # Period 3: 'cold' on pump-1 chatters: active, normal, active, normal, active in 40 s.
    t = T0 + 1_800_000
    apply(
        [
            change(t + k * 10_000, k % 2 == 0, rule="cold", severity=Severity.MEDIUM)
            for k in range(6)
        ]
    )
    # Period 5: an activation suppressed by design is not annunciated, so not counted.
    apply([change(T0 + 3_000_000, device="s-1", suppressed=True)])


def test_report_with_one_operator(env: Env) -> None:
    build(env)
    r = performance_report(env.meta, "acme", T0, END, operators=1)
    assert r["alarms"] == 26  # 12 + 11 + 3
    assert r["periods"] == 6
    assert r["per_operator_per_10min"] == {"average": 4.333, "peak": 12.0}
    flood = r["flood"]
    assert flood["periods_in_flood"] == 2
    assert flood["percent_in_flood"] == 33.33
    assert flood["floods"] == [
        {"start": T0, "end": T0 + 1_200_000, "alarms": 23, "peak_per_10min": 12}
    ]
    assert r["chattering"] == [
        {"rule_id": "cold", "device": "pump-1", "activations": 3, "max_per_minute": 3}
    ]
    (stale,) = r["stale"]
    assert stale["active_since"] == T0 - 25 * H
    assert stale["active_until"] is None
    assert stale["active_s"] == 26 * 3600
    top = r["top"]
    assert len(top) == 10
    assert top[0] == {"rule_id": "cold", "device": "pump-1", "count": 3, "percent": 11.54}
    assert [t["device"] for t in top[1:4]] == ["d0", "d1", "d10"]
    assert all(t["count"] == 1 and t["percent"] == 3.85 for t in top[1:])
    assert r["by_severity"] == {"critical": 0, "high": 23, "medium": 3, "low": 0}
    assert r["by_priority"] == {"1": 0, "2": 23, "3": 3, "4": 0}
    assert r["targets"]["flood_threshold_per_10min"] == 10


def test_report_with_two_operators_has_no_flood(env: Env) -> None:
    build(env)
    r = performance_report(env.meta, "acme", T0, END, operators=2)
    assert r["per_operator_per_10min"] == {"average": 2.167, "peak": 6.0}
    assert r["flood"]["periods_in_flood"] == 0
    assert r["flood"]["floods"] == []


def test_report_partial_period_and_other_tenant(env: Env) -> None:
    build(env)
    # 15 minutes: two periods, the second one 5 minutes long, holding all of d12..d22.
    r = performance_report(env.meta, "acme", T0, T0 + 900_000)
    assert (r["periods"], r["alarms"]) == (2, 23)
    assert [s["active_s"] for s in r["stale"]] == [25 * 3600 + 900]  # 'old', up to the end
    # A range ending before 'old' had been active for 24 h: nothing stale.
    early = performance_report(env.meta, "acme", T0 - 24 * H, T0 - 23 * H)
    assert early["stale"] == []
    empty = performance_report(env.meta, "bolt", T0, END)
    assert empty["alarms"] == 0
    assert empty["per_operator_per_10min"] == {"average": 0.0, "peak": 0.0}
    assert empty["top"] == []


@pytest.mark.parametrize(
    ("start", "end", "operators", "message"),
    [
        (T0, T0, 1, "after start"),
        (T0, T0 + 91 * 24 * H, 1, "at most 90 days"),
        (T0, END, 0, "operators"),
    ],
)
def test_report_bounds(env: Env, start: int, end: int, operators: int, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        performance_report(env.meta, "acme", start, end, operators)


def test_flood_means_more_than_ten(env: Env) -> None:
    env.service.apply([change(T0 + i * 1000, device=f"a{i}") for i in range(10)])
    env.service.apply([change(T0 + 600_000 + i * 1000, device=f"b{i}") for i in range(11)])
    r = performance_report(env.meta, "acme", T0, T0 + 1_200_000)
    assert r["flood"]["floods"] == [
        {"start": T0 + 600_000, "end": T0 + 1_200_000, "alarms": 11, "peak_per_10min": 11}
    ]
    assert r["flood"]["percent_in_flood"] == 50.0


def test_chattering_needs_three_within_a_minute(env: Env) -> None:
    # Three activations spread over exactly 60 s are not within one minute; 59.999 s are.
    ts = [T0, T0 + 1000, T0 + 30_000, T0 + 31_000, T0 + 60_000]
    env.service.apply([change(t, k % 2 == 0, device="x") for k, t in enumerate(ts)])
    ts2 = [T0, T0 + 1000, T0 + 30_000, T0 + 31_000, T0 + 59_999]
    env.service.apply([change(t, k % 2 == 0, device="y") for k, t in enumerate(ts2)])
    r = performance_report(env.meta, "acme", T0, END)
    assert [(c["device"], c["max_per_minute"]) for c in r["chattering"]] == [("y", 3)]
