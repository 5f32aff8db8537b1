"""The SDK gives an app its installing tenants' data and nothing else, writes through the
ingest pipeline, and refuses malformed points and events whole."""

from __future__ import annotations

import math

import pytest

from helan.apps.sdk import AppSDK, AppServices, DerivedPoint
from helan.core.errors import Forbidden, NotFound, ValidationFailed
from helan.core.events import EventRow
from helan.core.points import batch_from_columns
from helan.jobs import Interval, JobSpec
from tests.conftest import eventually

NOW = 1_790_000_000_000


@pytest.fixture
def sdk(services: AppServices) -> AppSDK:
    services.installs.install("acme", "probe")
    return AppSDK("probe", services)


def test_only_installing_tenants_are_reachable(services: AppServices, sdk: AppSDK) -> None:
    assert sdk.tenants() == {"acme"}
    sdk.tenant("acme")
    with pytest.raises(Forbidden):
        sdk.tenant("beta")
    with pytest.raises(NotFound):
        services.installs.install("nobody", "probe")
    services.installs.install("acme", "probe", enabled=False)
    with pytest.raises(Forbidden):
        sdk.tenant("acme")
    # Another app's install is not this app's.
    services.installs.install("acme", "other")
    assert sdk.tenants() == frozenset()


async def test_a_held_scope_loses_access_at_uninstall(services: AppServices, sdk: AppSDK) -> None:
    scope = sdk.tenant("acme")
    assert [d.id for d in await scope.devices()] == ["press-1", "press-2"]
    services.installs.uninstall("acme", "probe")
    with pytest.raises(Forbidden):
        await scope.devices()


async def test_derived_metrics_are_written_and_read_back(
    services: AppServices, sdk: AppSDK
) -> None:
    scope = sdk.tenant("acme")
    n = await scope.write_metrics(
        [
            DerivedPoint(device="press-1", metric="oee", ts=NOW, value=0.8),
            DerivedPoint(device="press-1", metric="oee", ts=NOW + 1000, value=0.9),
            DerivedPoint(device="press-2", metric="state", ts=NOW, text="idle"),
        ]
    )
    assert n == 3
    table = await scope.query("press-1", "oee", NOW, NOW + 2000)
    assert table.column("value").to_pylist() == [0.8, 0.9]
    agg = await scope.aggregate("press-1", ["oee"], NOW, NOW + 2000, bucket_ms=60_000)
    assert math.isclose(agg.column("value").to_pylist()[0], 0.85)
    latest = await scope.latest("press-2")
    assert latest["state"].text == "idle"
    assert await scope.latest("press-9") == {}


@pytest.mark.parametrize(
    ("point", "message"),
    [
        (DerivedPoint(device="pump-1", metric="m", ts=NOW, value=1.0), "not devices of tenant"),
        (DerivedPoint(device="press-1", metric="m", ts=NOW, value=math.nan), "finite"),
        (DerivedPoint(device="press-1", metric="m", ts=NOW, value=math.inf), "finite"),
        (DerivedPoint(device="press-1", metric="m", ts=NOW), "a value or a text"),
        (DerivedPoint(device="press-1", metric="m", ts=NOW, value=1.0, text="x"), "a value"),
        (DerivedPoint(device="press-1", metric="bad metric!", ts=NOW, value=1.0), "metric"),
        (DerivedPoint(device="", metric="m", ts=NOW, value=1.0), "device"),
        (DerivedPoint(device="press-1", metric="m", ts=-5, value=1.0), "epoch ms"),
    ],
)
async def test_malformed_points_are_refused_whole(
    services: AppServices, sdk: AppSDK, point: DerivedPoint, message: str
) -> None:
    scope = sdk.tenant("acme")
    good = DerivedPoint(device="press-1", metric="ok", ts=NOW, value=1.0)
    with pytest.raises(ValidationFailed, match=message):
        await scope.write_metrics([good, point])
    assert (await scope.query("press-1", "ok", 0, NOW + 1)).num_rows == 0


async def test_events_are_raised_and_listed_per_tenant(services: AppServices, sdk: AppSDK) -> None:
    services.ingest.events.write([EventRow("beta", "pump-1", NOW, "leak", "fault", {})])
    scope = sdk.tenant("acme")
    assert await scope.raise_event("press-1", "overheat", level="warning", ts_ms=NOW)
    assert not await scope.raise_event("press-1", "overheat", level="warning", ts_ms=NOW)
    await scope.raise_event("press-2", "jam", level="fault", data={"n": 2}, ts_ms=NOW + 5)
    listed = await scope.events()
    assert [(e.device, e.event) for e in listed] == [("press-2", "jam"), ("press-1", "overheat")]
    assert listed[0].data == {"app": "probe", "n": 2}
    assert [e.event for e in await scope.events(device="press-1")] == ["overheat"]
    assert await scope.events(since_ms=NOW + 6) == []
    with pytest.raises(ValidationFailed, match="level"):
        await scope.raise_event("press-1", "x", level="panic")
    with pytest.raises(ValidationFailed, match="no device"):
        await scope.raise_event("pump-1", "x")
    with pytest.raises(ValidationFailed, match="limit"):
        await scope.events(limit=0)


async def test_live_values_come_from_committed_device_data(
    services: AppServices, sdk: AppSDK
) -> None:
    await services.ingest.submit(batch_from_columns(["acme"], ["press-1"], ["temp"], [NOW], [71.5]))
    latest = await sdk.tenant("acme").latest("press-1")
    assert latest["temp"].value == 71.5


async def test_jobs_are_scheduled_under_the_app_id(services: AppServices, sdk: AppSDK) -> None:
    runs: list[int] = []

    async def tick() -> None:
        runs.append(1)

    job_id = sdk.schedule(JobSpec(id="t", trigger=Interval(seconds=0.05, at_start=True), run=tick))
    assert job_id == "probe:t"
    await eventually(lambda: runs)
    with pytest.raises(Forbidden):
        AppSDK("intruder", services).unschedule(job_id)
    sdk.unschedule(job_id)
    assert job_id not in services.scheduler.job_ids
