"""The built-in data-quality app through the manager: it counts committed live points per
device of its tenants and writes the counts (zero for silent devices) as a derived metric."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from helan.apps import CommittedBatch
from helan.apps.builtin.data_quality import app as dq
from helan.apps.component import AppsComponent
from helan.apps.manager import AppManager
from helan.apps.sdk import AppServices
from helan.core.points import batch_from_columns
from helan.storage.telemetry.base import RawQuery

NOW = 1_790_000_040_000  # 40 s into a minute


@pytest.fixture
async def apps(services: AppServices) -> AsyncIterator[AppsComponent]:
    manager = AppManager()
    manager.load_builtins()
    services.installs.install("acme", "data_quality")
    component = AppsComponent(manager, services)
    await component.start()
    yield component
    await component.stop()


async def test_counts_become_a_derived_metric(services: AppServices, apps: AppsComponent) -> None:
    sdk = apps.sdks["data_quality"]
    assert "data_quality:flush" in services.scheduler.job_ids
    live = batch_from_columns(
        ["acme", "acme", "acme", "beta"],
        ["press-1", "press-1", "press-1", "pump-1"],
        ["temp", "rpm", "dq.points_per_min", "flow"],
        [NOW, NOW, NOW, NOW],
        [1.0, 2.0, 3.0, 4.0],
    )
    backfill = batch_from_columns(["acme"], ["press-2"], ["temp"], [NOW - 3_600_000], [5.0])
    await apps.on_committed(CommittedBatch(live))
    await apps.on_committed(CommittedBatch(backfill, historical=True))
    assert dict(dq.counts(sdk).current) == {("acme", "press-1"): 2}

    assert await dq.flush(sdk, now_ms=NOW) == 2
    minute = NOW // 60_000 * 60_000
    scope = sdk.tenant("acme")
    for device, expected in (("press-1", 2.0), ("press-2", 0.0)):
        table = await scope.query(device, dq.METRIC, minute, minute + 1)
        assert table.column("value").to_pylist() == [expected]
    assert dq.counts(sdk).last == {"acme": {"press-1": 2, "press-2": 0}}
    assert dq.counts(sdk).current == {}
    # beta did not install the app: nothing was written there.
    q = RawQuery(tenant="beta", device="pump-1", metric=dq.METRIC, start_ms=0, end_ms=NOW * 2)
    assert services.telemetry.raw(q).num_rows == 0


async def test_declared_page_and_scope(apps: AppsComponent) -> None:
    mine = [(p.app_id, p.page.title_zh, p.page.module) for p in apps.pages]
    assert [p for p in mine if p[0] == "data_quality"] == [
        ("data_quality", "数据质量", "data_quality.js")
    ]
    assert apps.scope_families["data_quality"] == "data_quality"
