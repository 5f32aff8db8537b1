"""The simulator's signals come from the real recordings and look like real sensors."""

from __future__ import annotations

import math
import random
from itertools import pairwise

import numpy as np
import pytest

from helan.sim.data import NORMAL_RUN, SKAB_ANOMALIES, skab, steel
from helan.sim.machine import MachineModel, random_params
from helan.sim.meter import MeterModel
from helan.sim.metrics import (
    CNC,
    KIND_DEFS,
    METER,
    PRESS,
    PUMP,
    PUMP_COLUMNS,
    quantise,
    quantise_values,
)
from helan.sim.plan import FactoryPlan, counts, layout, make_model
from helan.sim.pump import PumpModel

T0 = 1_717_200_000  # 2024-06-01 00:00 UTC


def test_packaged_recordings_are_the_published_files() -> None:
    normal = skab(NORMAL_RUN)
    assert len(normal) == 9405  # SKAB's anomaly-free.csv row count
    assert normal.values.shape == (9405, 8)
    assert not normal.anomaly.any()
    for name in SKAB_ANOMALIES:
        rec = skab(name)
        assert 0 < rec.anomaly.sum() < len(rec)  # each experiment holds one labelled anomaly
    profile = steel()
    assert len(profile.power_kw) == 2688  # four weeks of 15-minute intervals
    # UCI file, first row: 01/01/2018 00:15, Usage_kWh 3.17 -> 12.68 kW over the interval.
    assert profile.power_kw[0] == pytest.approx(12.68)
    assert 0.3 < profile.co2_kg_per_kwh < 0.6


def test_unknown_recording_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="unknown SKAB recording 'valve9'"):
        skab("valve9")


def test_pump_replays_skab_rows_at_1hz_within_recorded_ranges() -> None:
    rec = skab(NORMAL_RUN)
    pump = PumpModel(offset=123)
    lo, hi = rec.values.min(axis=0), rec.values.max(axis=0)
    for k in range(600):
        values = pump.sample(T0 + k)
        row = [values[m] for m in PUMP_COLUMNS]
        assert row == rec.values[(T0 + k + 123) % len(rec)].tolist()
        assert np.all(row >= lo)
        assert np.all(row <= hi)


def test_pumps_with_different_offsets_differ_and_loop() -> None:
    a, b = PumpModel(offset=0), PumpModel(offset=5000)
    assert a.sample(T0) != b.sample(T0)
    assert a.sample(T0) == a.sample(T0 + len(skab(NORMAL_RUN)))


def test_meter_energy_over_a_period_equals_the_recorded_consumption() -> None:
    profile = steel()
    meter = MeterModel(week_offset=0, scale=0.5, rng=random.Random(1))
    period = len(profile.power_kw) * 900
    recorded_kwh = profile.power_kw.sum() / 4  # Usage_kWh summed
    assert meter.energy_kwh(T0 + period) - meter.energy_kwh(T0) == pytest.approx(
        recorded_kwh * 0.5, rel=1e-9
    )


def test_meter_power_follows_the_profile_with_realistic_noise() -> None:
    profile = steel()
    meter = MeterModel(week_offset=0, scale=1.0, rng=random.Random(2))
    # Monday 2024-06-03 10:00 China time = 02:00 UTC. The recording's weeks start on Mondays
    # (2018-01-01); the clock's week number modulo 4 picks which recorded week plays.
    t = 1_717_380_000
    week = ((t + 8 * 3600) // 86_400 - 4) // 7 % 4
    interval = week * 7 * 96 + 10 * 4  # Monday 10:00-10:15 of that week
    readings = [meter.sample(t + s) for s in range(900)]
    power = np.array([float(r["active_power"]) for r in readings])
    expected = np.interp(
        np.arange(900) / 900 + interval, np.arange(len(profile.power_kw)) + 0.5, profile.power_kw
    ).mean()
    assert expected > 100  # a working Monday morning in the steel plant
    assert power.mean() == pytest.approx(expected, rel=0.03)
    assert 0 < power.std() / power.mean() < 0.1  # noisy, but not wildly
    for r in readings[:50]:
        p, q, pf = (float(r[k]) for k in ("active_power", "reactive_power", "power_factor"))
        assert pf == pytest.approx(p / math.hypot(p, q))
        assert 0 < pf <= 1


def test_meter_counters_only_rise_and_survive_a_restart() -> None:
    meter = MeterModel(week_offset=1, scale=0.8, rng=random.Random(3))
    energy = [float(meter.sample(T0 + s)["energy_total"]) for s in range(0, 7200, 7)]
    co2 = [float(meter.sample(T0 + s)["co2_total"]) for s in range(0, 7200, 7)]
    assert all(b >= a for a, b in pairwise(energy))
    assert all(b >= a for a, b in pairwise(co2))
    assert energy[-1] > energy[0]
    restarted = MeterModel(week_offset=1, scale=0.8, rng=random.Random(99))
    assert restarted.energy_kwh(T0 + 7200) == pytest.approx(meter.energy_kwh(T0 + 7200))


def test_quantise_gives_sensor_resolution_without_binary_noise() -> None:
    assert quantise(0.30000004, 0.01) == 0.3
    assert repr(quantise(2.0 / 3.0, 0.001)) == "0.667"
    assert quantise(87.26, 0.1) == 87.3
    assert quantise(8012.4, 1) == 8012.0
    values = quantise_values(PUMP, PumpModel(offset=7).sample(T0) | {"extra": 1.0})
    assert "extra" not in values
    for m in PUMP.metrics:
        v = float(values[m.name])
        assert v == round(v, -round(math.log10(m.resolution or 1)))


@pytest.mark.parametrize("kind", [CNC, PRESS], ids=["cnc", "press"])
def test_machine_state_machine_invariants(kind) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(7)
    machine = MachineModel(kind=kind, params=random_params(kind, rng), rng=rng)
    seen_states, running_s, total_s = set(), 0, 0
    parts, rejects = 0, 0
    for s in range(0, 2 * 86_400, 5):
        v = machine.sample(T0 + s)
        assert v["state"] in ("run", "idle", "down")
        seen_states.add(v["state"])
        assert int(v["part_count"]) >= parts
        assert int(v["reject_count"]) >= rejects
        parts, rejects = int(v["part_count"]), int(v["reject_count"])
        assert rejects <= parts
        level = v["spindle_speed"] if kind is CNC else v["press_force"]
        assert (float(level) > 0) == (v["state"] == "run")
        running_s += 5 * (v["state"] == "run")
        total_s += 5
    assert seen_states == {"run", "idle", "down"}
    assert 0.5 < running_s / total_s < 0.95  # plant-like utilisation
    expected_parts = running_s / machine.params.nominal_cycle_s
    assert parts == pytest.approx(expected_parts, rel=0.1)
    assert 0 < rejects < 0.05 * parts


@pytest.mark.parametrize("kind", [CNC, PRESS], ids=["cnc", "press"])
def test_machine_raises_an_event_at_each_state_change(kind) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(11)
    machine = MachineModel(kind=kind, params=random_params(kind, rng), rng=rng)
    declared = {e.name: dict(e.outputs) for e in kind.events}
    previous, events = machine.sample(T0)["state"], []
    for s in range(5, 86_400, 5):
        state = machine.sample(T0 + s)["state"]
        got = machine.take_events()
        for ts, name, data in got:
            assert (T0 + s - 5) * 1000 <= ts <= (T0 + s) * 1000  # when it happened
            assert set(data) == set(declared[name])  # the outputs the thing model declares
        changes = [d for _, n, d in got if n == "state_changed"]
        if changes:  # a chain of changes between two samples ends in the state sampled
            assert (changes[0]["from"], changes[-1]["to"]) == (previous, state)
        else:
            assert state == previous
        previous = state
        events += got
    downs = [d for _, n, d in events if n == "state_changed" and d["to"] == "down"]
    breakdowns = [d["cause"] for _, n, d in events if n == "breakdown"]
    assert len(breakdowns) == len(downs) > 0
    assert machine.transitions == sum(n == "state_changed" for _, n, _ in events)
    assert machine.take_events() == []


def test_machine_rejects_wrong_kind() -> None:
    with pytest.raises(ValueError, match="CNC or a press"):
        MachineModel(kind=METER, params=random_params(CNC, random.Random(1)), rng=random.Random(1))


def test_plan_mix_lines_and_determinism() -> None:
    plan = FactoryPlan(devices=250)
    by_kind = counts(plan)
    assert sum(by_kind.values()) == 250
    assert by_kind == {"pump": 75, "meter": 50, "cnc": 75, "press": 50}
    specs = layout(plan)
    assert len({s.device_id for s in specs}) == 250
    assert {s.line for s in specs if s.kind == "pump"} == {"pump-line-01"}
    assert layout(plan) == specs
    spec = specs[0]
    assert make_model(spec, plan.seed).sample(T0) == make_model(spec, plan.seed).sample(T0)
    for s in specs[::25]:
        model = make_model(s, plan.seed)
        assert set(model.sample(T0)) == {m.name for m in KIND_DEFS[s.kind].metrics}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"devices": 0}, "devices must be 1..10000"),
        ({"devices": 10_001}, "devices must be 1..10000"),
        ({"mix": {"robot": 1.0}}, "mix must give"),
        ({"mix": {"pump": -1.0, "cnc": 2.0}}, "mix must give"),
    ],
)
def test_plan_rejects_bad_shapes(kwargs, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        FactoryPlan(**kwargs)


def test_skab_anomaly_replays_the_recorded_change_on_a_pump() -> None:
    from helan.sim.faults import SkabAnomaly

    pump = PumpModel(offset=0)
    fault = SkabAnomaly(device="pump-00001", recording="other-5", start_s=0)
    rec = skab("other-5")
    assert fault.duration_s == rec.anomaly.sum()  # the labelled segment, row for row
    normal = [pump.sample(T0 + k) for k in range(int(fault.duration_s))]
    faulty = [fault.apply(v, k) for k, v in enumerate(normal)]
    ratio = np.mean([f["vibration_1"] for f in faulty]) / np.mean(
        [n["vibration_1"] for n in normal]
    )
    assert 2.5 < ratio < 3.3  # SKAB other/5: vibration RMS about x2.9 while labelled
    assert [f["voltage"] for f in faulty] != [n["voltage"] for n in normal]
    valve = SkabAnomaly(device="pump-00001", recording="valve1-13", start_s=0)
    window = normal[: int(valve.duration_s)]
    flow = [valve.apply(v, k)["flow_rate"] for k, v in enumerate(window)]
    assert np.mean(flow) / np.mean([n["flow_rate"] for n in window]) < 0.85  # valve closing


def test_spikes_and_stuck_sensor() -> None:
    from helan.sim.faults import Spikes, StuckSensor

    spikes = Spikes(
        device="d", metric="current", start_s=0, duration_s=100, probability=0.5, seed=3
    )
    values = [{"current": 2.0, "voltage": 230.0} for _ in range(200)]
    out = [spikes.apply(v, k) for k, v in enumerate(values)]
    hits = [o for o in out if o["current"] != 2.0]
    assert 60 < len(hits) < 140
    assert all(o["current"] == 10.0 for o in hits)
    assert all(o["voltage"] == 230.0 for o in out)
    stuck = StuckSensor(device="d", metric="voltage", start_s=0, duration_s=10)
    assert [stuck.apply({"voltage": float(v)}, v)["voltage"] for v in range(5)] == [0.0] * 5
