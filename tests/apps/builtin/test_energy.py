"""The energy centre: tariffs, emission factors as data, ISO 50006 baselines, counters per
interval, the steel check on the packaged month, and a day's report from the store over the
meter hierarchy with a stated baseline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from helan.apps.builtin.energy import app as energy
from helan.apps.builtin.energy import steel
from helan.apps.builtin.energy.compute import INTERVAL_MS, counter_per_interval
from helan.apps.builtin.energy.enpi import BaselineError, compare, fit_baseline, power_factor
from helan.apps.builtin.energy.factors import factor
from helan.apps.builtin.energy.tariff import Tariff
from helan.apps.catalogue.service import Catalogue
from helan.apps.sdk import AppSDK, AppServices
from helan.core.errors import ValidationFailed
from helan.core.points import batch_from_columns
from helan.security.principal import Principal, Role
from helan.storage.meta.models import Asset, Device, DeviceType

JAN = Path(steel.__file__).parents[3] / "sim" / "data" / "steel-energy"
DAY = 1_767_542_400_000  # 2026-01-05 00:00 Asia/Shanghai
ROOT = Principal(kind="user", subject="admin", tenant=None, role=Role.PLATFORM_ADMIN)


def test_default_tariff_bands_in_china_time() -> None:
    t = Tariff()
    assert [t.band_at(DAY + h * 3_600_000) for h in (0, 8, 10, 13, 18, 23)] == [
        "valley", "flat", "peak", "flat", "peak", "flat"
    ]  # fmt: skip


def test_tariff_with_a_gap_is_refused() -> None:
    with pytest.raises(ValueError, match="08:00 without a band"):
        Tariff(periods=(("00:00", "08:00", "valley"), ("09:00", "24:00", "flat")))


def test_tariff_off_the_quarter_hour_is_refused() -> None:
    with pytest.raises(ValueError, match="15-minute"):
        Tariff(periods=(("00:00", "08:10", "valley"), ("08:10", "24:00", "flat")))


def test_published_factor_with_year_and_source() -> None:
    f = factor("northwest", 2022)
    assert (f.value, f.year, "MEE" in f.source) == (0.5857, 2022, True)


def test_factor_for_a_later_year_is_the_newest_published() -> None:
    assert factor("national", 2030).year == 2022


def test_factor_of_an_unknown_region_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="no emission factor"):
        factor("atlantis")


def test_baseline_recovers_a_known_relation() -> None:
    rng = np.random.default_rng(7)
    parts = rng.uniform(10, 50, 60)
    base = fit_baseline(20 + 0.5 * parts, {"parts": parts}, period=("2026-01-01", "2026-01-31"))
    assert (round(base.intercept, 6), round(base.coefficients["parts"], 6), base.r2) == (
        20.0,
        0.5,
        pytest.approx(1.0),
    )


def test_enpi_ratio_of_ten_per_cent_more_energy() -> None:
    parts = np.arange(10.0, 40.0)
    base = fit_baseline(20 + 0.5 * parts, {"parts": parts}, period=("a", "b"))
    assert compare(base, 1.1 * (20 + 0.5 * parts), {"parts": parts}).enpi_ratio == pytest.approx(
        1.1
    )


def test_constant_variable_gives_no_baseline() -> None:
    with pytest.raises(BaselineError, match="constant"):
        fit_baseline(np.arange(20.0), {"parts": np.ones(20)}, period=("a", "b"))


def test_power_factor() -> None:
    assert power_factor(90.0, 43.589) == pytest.approx(0.9, abs=1e-4)


def test_counter_per_interval_with_reset_and_missing_interval() -> None:
    grid = np.arange(5, dtype=np.int64) * INTERVAL_MS
    lasts = np.array([100.0, 110.0, np.nan, 130.0, 4.0])  # gap at 2, reset before 4
    got = counter_per_interval(lasts, grid)
    assert got[0] == 10.0
    assert np.isnan(got[1])
    assert got[2:].tolist() == [20.0, 4.0]


def test_counter_first_heard_of_in_the_window_counts_from_its_first_reading() -> None:
    grid = np.arange(3, dtype=np.int64) * INTERVAL_MS
    lasts = np.array([np.nan, np.nan, 107.0])
    firsts = np.array([np.nan, np.nan, 100.0])
    assert counter_per_interval(lasts, grid, firsts=firsts).tolist()[1:] == [7.0]


def test_steel_month_reproduces_its_co2_column() -> None:
    rows = steel.read(JAN / "Steel_industry_data_2018-01.csv")
    usage = np.array([float(r["Usage_kWh"]) for r in rows])
    co2 = np.array([float(r["CO2(tCO2)"]) for r in rows])
    got = steel.co2_check(usage, co2)
    assert got["co2_exact_share"] == 1.0
    assert got["co2_factor_interval"][0] <= 0.4585 <= got["co2_factor_interval"][1]


def test_steel_file_with_a_missing_column_names_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("date,Usage_kWh\n01/01/2018 00:15,3.17\n")
    with pytest.raises(Exception, match=r"CO2\(tCO2\)"):
        steel.read(bad)


# -- a day from the store ------------------------------------------------------------------


def _meter_and_machine() -> tuple[list[object], ...]:
    """A meter (one reading a minute, 59 s into it) and a press whose output varies per
    interval, from 15 min before the day before to the end of the day; the energy per
    interval is 20 kWh + 0.5 kWh per part, 10 % more from ``DAY`` on."""
    dev, met, ts, val = [], [], [], []
    kwh = parts = 0.0
    start = DAY - 86_400_000 - INTERVAL_MS
    for k in range(2 * 96 + 1):
        p = (15.0, 30.0, 45.0)[k % 3]
        at = start + k * INTERVAL_MS
        e = (20.0 + 0.5 * p) * (1.1 if at >= DAY else 1.0)
        for minute in range(15):
            t = at + minute * 60_000 + 59_000
            kwh += e / 15
            parts += p / 15
            for d, m, v in (
                ("meter-1", "energy_total", kwh),
                ("meter-1", "active_power", e * 4),
                ("meter-1", "reactive_power", e * 4 * 0.484322),
                ("press-1", "part_count", parts),
            ):
                dev.append(d)
                met.append(m)
                ts.append(t)
                val.append(v)
    return dev, met, ts, val


@pytest.fixture
async def sdk(services: AppServices) -> AppSDK:
    with services.meta.session() as s:
        for ty in ("power-meter", "stamping-press"):
            s.add(DeviceType(tenant_id="acme", id=ty, name=ty))
        s.add(Asset(tenant_id="acme", id="site", name="Site", kind="site"))
        s.flush()
        s.add(Asset(tenant_id="acme", id="line", name="Line", kind="line", parent_id="site"))
        s.flush()
        s.add(Device(tenant_id="acme", id="meter-1", name="M", credential_hash="x"))
        s.flush()
        for d, ty in (("meter-1", "power-meter"), ("press-1", "stamping-press")):
            row = s.get(Device, ("acme", d))
            assert row is not None
            row.device_type_id, row.asset_id = ty, "line"
    d, m, ts, v = _meter_and_machine()
    services.telemetry.write(batch_from_columns(["acme"] * len(d), d, m, ts, v))
    catalogue = Catalogue(services.meta, services.installs, {"energy": energy.manifest()})
    catalogue.install(ROOT, "acme", "energy", config={"emission_factor": {"region": "northwest"}})
    return AppSDK("energy", services)


async def test_day_report_over_the_meter_hierarchy(sdk: AppSDK) -> None:
    from datetime import date

    result = await energy.tenant_report(sdk.tenant("acme"), "day", date(2026, 1, 5))
    nodes = {n["id"]: n for n in result["nodes"]}
    expected_kwh = 1.1 * 96 / 3 * (27.5 + 35.0 + 42.5)
    assert list(nodes) == ["site", "line"]
    assert nodes["site"]["kwh"] == pytest.approx(expected_kwh, rel=2e-3)
    assert nodes["site"]["co2_kg"] == pytest.approx(expected_kwh * 0.5857, rel=2e-3)
    assert nodes["site"]["kwh_per_part"] == pytest.approx(expected_kwh / (96 * 30), rel=3e-3)
    assert nodes["site"]["power_factor"] == pytest.approx(0.9, abs=1e-3)
    assert nodes["site"]["tariff"]["total_cost"] > 0
    assert nodes["site"]["baseline"]["status"] == "ok"
    assert nodes["site"]["baseline"]["coefficients"]["parts"] == pytest.approx(0.5, rel=1e-2)
    assert nodes["site"]["enpi_ratio"] == pytest.approx(1.1, rel=5e-3)


async def test_job_writes_the_meter_enpi(sdk: AppSDK, services: AppServices) -> None:
    from helan.storage.telemetry.base import RawQuery

    now = DAY + 3_600_000  # the last hour against the 24 h before it
    assert await energy.write_enpi(sdk, now_ms=now) == 1
    q = RawQuery(
        tenant="acme", device="meter-1", metric="energy.enpi_ratio", start_ms=now, end_ms=now + 1
    )
    assert services.telemetry.raw(q)["value"].to_pylist() == [pytest.approx(1.1, rel=5e-3)]
