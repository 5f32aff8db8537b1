"""The built-in forecast app through the manager: for a tenant that installed it, each meter
(a device reporting ``active_power``) gets a 24-hour forecast and ``forecast.kw`` at the current
slot; once per slot; the live model is kept in the registry and loaded from it next time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from helan.apps.builtin.forecast import app as forecast
from helan.apps.component import AppsComponent
from helan.apps.manager import AppManager
from helan.apps.sdk import AppServices
from helan.core.errors import Forbidden
from helan.core.points import batch_from_columns
from helan.jobs import Interval, JobSpec
from helan.models.forecast.data import read_steel
from helan.models.registry import Registry
from helan.storage.meta.models import Device
from helan.storage.telemetry.base import RawQuery

SLOT = forecast.SLOT_MS
STEEL = Path(forecast.live.TRAINING_DATA)


@pytest.fixture
async def apps(
    services: AppServices, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[AppsComponent]:
    monkeypatch.setattr(forecast, "registry_root", lambda: tmp_path / "models")
    with services.meta.session() as s:
        s.add(Device(tenant_id="acme", id="meter-1", name="Meter 1", credential_hash="x"))
        s.add(Device(tenant_id="beta", id="meter-9", name="Meter 9", credential_hash="x"))
    manager = AppManager()
    manager.load_builtins()
    services.installs.install("acme", "forecast")
    component = AppsComponent(manager, services)
    await component.start()
    yield component
    await component.stop()


async def _idle() -> None:
    return None


async def _history(services: AppServices, tenant: str, device: str, now_ms: int) -> np.ndarray:
    """Two days of the steel plant's load (kW, four times its kWh) up to ``now_ms``."""
    kw = read_steel(STEEL).values[: 2 * 96] * 4
    current = now_ms // SLOT * SLOT
    ts = [current - (len(kw) - i) * SLOT for i in range(len(kw))]
    n = len(kw)
    await services.ingest.submit(
        batch_from_columns([tenant] * n, [device] * n, ["active_power"] * n, ts, kw.tolist())
    )
    return kw


async def test_meters_get_a_forecast_once_per_slot(
    services: AppServices, apps: AppsComponent, tmp_path: Path
) -> None:
    sdk = apps.sdks["forecast"]
    assert "forecast:forecast" in services.scheduler.job_ids
    # The test drives the clock itself: let the job's run at start finish (no meter has data
    # yet, so it issues nothing), then hold its next run off for the test's length.
    for _ in range(200):
        if services.scheduler.status("forecast:forecast").runs:
            break
        await asyncio.sleep(0.05)
    services.scheduler.remove("forecast:forecast")
    services.scheduler.add(
        JobSpec(id="forecast:forecast", trigger=Interval(seconds=3600), run=_idle)
    )
    assert forecast.state(sdk).issued == {}
    now = time.time_ns() // 1_000_000 - 3_600_000  # an hour ago: later slots are not future
    kw = await _history(services, "acme", "meter-1", now)
    await _history(services, "beta", "meter-9", now)

    # The first run forecasts the slots after this one; none covers this slot yet.
    assert await forecast.run_once(sdk, now_ms=now) == 0  # press-1, press-2 are not meters
    current = now // SLOT * SLOT
    issued = forecast.state(sdk).issued[("acme", "meter-1")]
    first, ahead = issued[-1]
    assert first == current + SLOT
    assert ahead.shape == (96,)
    assert np.isfinite(ahead).all()
    # On the meter's scale and shaped by the day, not a flat level.
    assert kw.mean() / 3 < ahead.mean() < kw.mean() * 3
    assert ahead.max() > 1.5 * ahead.min()

    # In the next slot, forecast.kw is what the first forecast said for it.
    later = now + SLOT
    assert await forecast.run_once(sdk, now_ms=later) == 1
    table = await sdk.tenant("acme").query("meter-1", forecast.METRIC, first, first + 1)
    assert table.column("value").to_pylist() == [pytest.approx(ahead[0], abs=1e-3)]
    assert await forecast.run_once(sdk, now_ms=later + 60_000) == 0  # same slot: nothing new
    # The page's route: the meter with its next 24 hours; another tenant is refused.
    (router,) = forecast.routes(sdk)
    endpoint = next(r.endpoint for r in router.routes if r.path.endswith("/meters"))  # type: ignore[attr-defined]
    page = await endpoint(tenant="acme", principal=None)
    assert page["ready"]
    assert page["model_version"] == 1
    assert [m["device"] for m in page["meters"]] == ["meter-1"]
    assert len(page["meters"][0]["forecast_ahead"]) == 96
    with pytest.raises(Forbidden):
        await endpoint(tenant="beta", principal=None)
    # beta did not install the app: nothing was written there.
    q = RawQuery(
        tenant="beta", device="meter-9", metric=forecast.METRIC, start_ms=0, end_ms=now * 2
    )
    assert services.telemetry.raw(q).num_rows == 0

    # The live model was stored; a new state loads that version instead of training.
    cards = Registry(tmp_path / "models").cards()
    assert [(c.name, c.version) for c in cards] == [("forecast-live", 1)]
    fresh = forecast.AppState(root=tmp_path / "models")
    await fresh.ready()
    assert fresh.version == 1
    assert len(Registry(tmp_path / "models").versions("forecast-live")) == 1


async def test_declared_page_manifest_and_scope(apps: AppsComponent) -> None:
    mine = [(p.app_id, p.page.title_zh, p.page.module) for p in apps.pages]
    assert [p for p in mine if p[0] == "forecast"] == [("forecast", "负荷预测", "forecast.js")]
    assert apps.scope_families["forecast"] == "forecast"
