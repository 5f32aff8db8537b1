"""The OEE app on data in the store: state and counters of two machines sampled every 5 s (one
without an ideal cycle time), a counter reset, the report per machine, line and shift, and the
derived metrics the job writes."""

from __future__ import annotations

import pytest

from helan.apps.builtin.oee import app as oee
from helan.apps.sdk import AppSDK, AppServices
from helan.core.errors import Forbidden
from helan.core.points import batch_from_columns
from helan.storage.meta.models import Device
from helan.storage.telemetry.base import RawQuery

# 2026-01-05 09:00 Asia/Shanghai: two hours inside the default shift A (break at 12:00).
T0 = 1_767_574_800_000
HOURS = 2
CYCLE_S = 60  # a part a minute while running
IDEAL_S = 50.0
STEP_S = 5  # sampling period of the PLC (the app takes any rate up to its 60 s gap limit)


def state_at(t: int) -> str:
    return "down" if 3600 <= t < 4200 else "run"


def machine_points(device: str, *, reset_at: int | None) -> tuple[list[object], ...]:
    """Samples of state, part_count (reset to 0 at ``reset_at``) and reject_count."""
    devices, metrics, ts, values, texts = [], [], [], [], []
    parts = rejects = 0
    for t in range(HOURS * 3600):
        if state_at(t) == "run" and t % CYCLE_S == 0 and t > 0:
            parts += 1
        if t in (1800, 4500):
            rejects += 1
        if t == reset_at:
            parts = 0
        if t % STEP_S:
            continue
        for metric, value, text in (
            ("state", None, state_at(t)),
            ("part_count", float(parts), None),
            ("reject_count", float(rejects), None),
        ):
            devices.append(device)
            metrics.append(metric)
            ts.append(T0 + t * 1000)
            values.append(value)
            texts.append(text)
    return devices, metrics, ts, values, texts


def expected_parts() -> int:
    return sum(1 for t in range(1, HOURS * 3600) if state_at(t) == "run" and t % CYCLE_S == 0)


@pytest.fixture
async def sdk(services: AppServices) -> AppSDK:
    with services.meta.session() as s:
        s.get(Device, ("acme", "press-1")).attributes = {"ideal_cycle_s": IDEAL_S}  # type: ignore[union-attr]
        s.get(Device, ("acme", "press-2")).attributes = {"ideal_cycle_s": None}  # type: ignore[union-attr]
    for device, reset in (("press-1", 5000), ("press-2", None)):
        d, m, ts, v, x = machine_points(device, reset_at=reset)
        services.telemetry.write(batch_from_columns(["acme"] * len(d), d, m, ts, v, x))
    services.installs.install("acme", "oee")
    return AppSDK("oee", services)


async def report(sdk: AppSDK) -> dict[str, object]:
    return await oee.tenant_report(sdk.tenant("acme"), T0, T0 + HOURS * 3_600_000)


def machine(result: dict[str, object], device: str) -> dict[str, object]:
    return next(m for m in result["machines"] if m["device"] == device)  # type: ignore[attr-defined]


async def test_report_of_a_machine_with_a_counter_reset(sdk: AppSDK) -> None:
    got = machine(await report(sdk), "press-1")
    n = expected_parts()
    assert got["availability"] == pytest.approx(6600 / 7200)
    assert got["produced"] == n  # the reset at 5000 s lost nothing
    assert got["performance"] == pytest.approx(IDEAL_S * n / 6600)
    assert got["quality"] == pytest.approx((n - 2) / n)
    assert got["oee"] == pytest.approx(IDEAL_S * (n - 2) / 7200)
    assert (got["failures"], got["mttr_s"]) == (1, 600.0)


async def test_machine_without_ideal_cycle_time_and_the_shift(sdk: AppSDK) -> None:
    result = await report(sdk)
    got = machine(result, "press-2")
    assert (got["status"], got["oee"]) == ("no_ideal_cycle_time", None)
    assert got["availability"] == pytest.approx(6600 / 7200)
    shifts = {s["shift"]: s for s in result["shifts"]}  # type: ignore[attr-defined]
    assert list(shifts) == ["2026-01-05/A"]
    assert shifts["2026-01-05/A"]["without_ideal_cycle"] == 1
    line = result["lines"][0]  # type: ignore[index]
    assert line["oee"] == pytest.approx(machine(result, "press-1")["oee"])


async def test_job_writes_oee_metrics(sdk: AppSDK, services: AppServices) -> None:
    now = T0 + HOURS * 3_600_000
    assert await oee.write_current(sdk, now_ms=now) > 0
    q = RawQuery(tenant="acme", device="press-1", metric="oee.oee", start_ms=now, end_ms=now + 1)
    table = services.telemetry.raw(q)
    # shift A began at 08:00: the hour before T0 has no data, so it is unknown, not loss
    assert table["value"].to_pylist() == [pytest.approx(IDEAL_S * (expected_parts() - 2) / 7200)]


async def test_uninstalled_tenant_gets_nothing(sdk: AppSDK) -> None:
    assert sdk.tenants() == frozenset({"acme"})
    with pytest.raises(Forbidden):
        sdk.tenant("beta")
