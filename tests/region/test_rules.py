"""The regional view's pure rules: roll-up of indicators, entitlement arithmetic, integrity
checks on telemetry, due process, the expert draw."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest

from helan.core.errors import Conflict, ValidationFailed
from helan.region import credit, experts, integrity, schemes
from helan.region.indicators import TenantFacts, aggregate


def test_roll_up_by_division_and_industry() -> None:
    facts = [
        TenantFacts(tenant="a", region="640122", industry="34", active=True, devices_active=1),
        TenantFacts(tenant="b", region="640104", industry="65", active=True, identifiers=5),
        TenantFacts(tenant="c", region="640122", industry="34", active=False, identifiers=9),
        TenantFacts(tenant="d", region=None, industry="34", active=True, identifiers=7),
    ]
    got = aggregate(facts)
    assert got[("640000", "", "enterprises_on_cloud")] == 1
    assert got[("640000", "", "identifiers_registered")] == 5
    assert got[("640100", "C", "enterprises_on_cloud")] == 1
    assert got[("640122", "34", "enterprises_registered")] == 1
    assert ("640104", "C", "enterprises_registered") not in got


def _rules(**over: object) -> schemes.Rules:
    base = {
        "share": 0.5,
        "annual_cap_fen": 1000,
        "years": 2,
        "eligible_services": ("cloud_hosting",),
    }
    return schemes.Rules(**(base | over))  # type: ignore[arg-type]


def _inv(number: str, total: int, service: str = "cloud_hosting") -> schemes.Invoice:
    return schemes.Invoice(
        number=number,
        issuer="x",
        issued_on=date(2026, 1, 1),
        service=service,
        lines=(total,),
        total_fen=total,
    )


def test_entitlement_steps() -> None:
    steps = schemes.entitlement(
        _rules(),
        [_inv("1", 1001), _inv("2", 50, "security_services")],
        year=2026,
        granted_this_year_fen=600,
        years_claimed=[2026],
    )
    assert [(s.step, s.value_fen) for s in steps] == [
        ("invoiced", 1051),
        ("eligible", 1001),
        ("share", 500),  # rounded down to the fen
        ("annual_cap", 400),
        ("years", 400),
    ]
    spent = schemes.entitlement(
        _rules(), [_inv("1", 100)], year=2028, granted_this_year_fen=0, years_claimed=[2026, 2027]
    )
    assert spent[-1].value_fen == 0


def test_overlap_needs_area_period_and_service_in_common() -> None:
    a = schemes.SchemeSpan(
        id="a",
        region="640000",
        valid_from=date(2026, 1, 1),
        valid_to=date(2026, 12, 31),
        services=frozenset({"cloud_hosting"}),
    )
    inside = schemes.SchemeSpan(
        id="b",
        region="640100",
        valid_from=date(2026, 6, 1),
        valid_to=date(2027, 5, 31),
        services=frozenset({"cloud_hosting", "iiot_platform"}),
    )
    assert schemes.overlap(inside, [a]) == a
    elsewhere = schemes.SchemeSpan(
        id="c",
        region="650000",
        valid_from=inside.valid_from,
        valid_to=inside.valid_to,
        services=inside.services,
    )
    assert schemes.overlap(elsewhere, [a]) is None
    later = schemes.SchemeSpan(
        id="d",
        region="640000",
        valid_from=date(2027, 1, 1),
        valid_to=date(2027, 12, 31),
        services=frozenset({"cloud_hosting"}),
    )
    assert schemes.overlap(later, [a]) is None


def _device(values: list[float]) -> integrity.DeviceEvidence:
    ts = [1_000 * i for i in range(len(values))]
    return integrity.DeviceEvidence(device="d", exists=True, samples={"m": (ts, values)})


def test_synthetic_telemetry() -> None:
    noisy = [20 + math.sin(i) * 3 + (i * 7919 % 13) / 100 for i in range(200)]
    assert integrity.synthetic([_device(noisy)]) == []
    assert integrity.synthetic([_device([4.0] * 40)])[0].check == "constant"
    cycle = [1.0, 2.5, 3.0, 2.0, 1.5]
    periodic = integrity.synthetic([_device(cycle * 20)])[0]
    assert (periodic.check, periodic.evidence["period"]) == ("periodic", 5)
    replay = noisy[:60] + noisy[100:130] + noisy[10:40]
    found = integrity.synthetic([_device(replay)])[0]
    assert found.check == "replayed"
    assert found.evidence["first_ms"] == 10_000
    assert integrity.synthetic([_device([1.0] * 10)]) == []  # too short to say


def test_count_jump_before_the_deadline() -> None:
    deadline = datetime(2026, 12, 31, tzinfo=UTC)
    late = [
        integrity.DeviceEvidence(
            device=f"d{i}", exists=True, created_at=deadline - timedelta(days=3)
        )
        for i in range(4)
    ]
    early = [
        integrity.DeviceEvidence(
            device=f"e{i}", exists=True, created_at=deadline - timedelta(days=300)
        )
        for i in range(4)
    ]
    assert integrity.count_jump(late + early[:1], deadline)[0].evidence["registered_in_window"] == 4
    assert integrity.count_jump(late[:2] + early, deadline) == []


def test_due_process_order() -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    r = credit.Record(status="noticed", respond_by=now + timedelta(days=5), blacklist=True)
    with pytest.raises(Conflict):
        credit.decide(r, "upheld", 6, now)
    with pytest.raises(Conflict):
        credit.respond(r, now + timedelta(days=6))
    credit.decide(r, "upheld", 6, now + timedelta(days=6))
    assert credit.blacklisted(r, now + timedelta(days=7))
    assert not credit.blacklisted(r, now + timedelta(days=200))
    with pytest.raises(Conflict):
        credit.appeal(r, now + timedelta(days=60))


def test_draw_is_reproducible_and_excludes_conflicts() -> None:
    today = date(2026, 6, 1)
    pool = [experts.Candidate(id=f"e{i}", tenant=None, fields=("x",)) for i in range(10)]
    pool.append(experts.Candidate(id="own", tenant="t", fields=("x",)))
    tie = (("t", "shareholder", None),)
    pool.append(experts.Candidate(id="tie", tenant=None, fields=("x",), relations=tie))
    one = experts.draw(pool, tenant="t", size=4, seed=1, today=today)
    two = experts.draw(pool, tenant="t", size=4, seed=1, today=today)
    assert one.drawn == two.drawn
    assert {"own", "tie"}.isdisjoint(one.drawn)
    assert [x["expert"] for x in one.excluded] == ["own", "tie"]
    with pytest.raises(ValidationFailed, match="10 eligible"):
        experts.draw(pool, tenant="t", size=11, seed=1, today=today)
