"""The apps component end to end with the sample app: its routes, pages, scopes, lifecycle,
jobs, migrations, and committed data cut to the tenants that installed it."""

from __future__ import annotations

import logging
import types
from collections.abc import AsyncIterator

import httpx
import pyarrow as pa
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

import tests.apps.sample_app as sample
from helan.api.errors import install as errors_install
from helan.apps import CommittedBatch, CommittedEvents, Subscription, hookimpl
from helan.apps.component import AppsComponent
from helan.apps.manager import AppManager
from helan.apps.migrations import version_table
from helan.apps.sdk import AppServices
from helan.core.events import EventRow
from helan.core.points import batch_from_columns
from tests.conftest import eventually


@pytest.fixture
async def apps(services: AppServices) -> AsyncIterator[AppsComponent]:
    sample.CALLS.clear()
    sample.BATCHES.clear()
    sample.EVENTS.clear()
    manager = AppManager()
    manager.register(sample, "sample")
    services.installs.install("acme", "sample")
    component = AppsComponent(manager, services)
    await component.start()
    yield component
    await component.stop()


def _points(*tenants: str) -> pa.Table:
    n = len(tenants)
    return batch_from_columns(list(tenants), ["d"] * n, ["m"] * n, list(range(n)), [1.0] * n)


async def test_hook_routes_are_mounted_under_the_app_id(apps: AppsComponent) -> None:
    app = FastAPI()
    for router in apps.routers:
        app.include_router(router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get("/api/v1/apps/sample/hello")
    assert r.status_code == 200
    assert r.json() == {"app": "sample", "tenants": ["acme"]}


async def test_console_page_modules_are_served_from_the_apps_static_dir(
    apps: AppsComponent,
) -> None:
    app = FastAPI()
    for router in apps.routers:
        app.include_router(router)
    errors_install(app)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get("/apps/sample/static/sample.js")
        assert r.status_code == 200
        assert "export function render" in r.text
        for bad in (
            "/apps/sample/static/..%2F__init__.py",
            "/apps/sample/static/%2Fetc%2Fpasswd",
            "/apps/sample/static/missing.js",
            "/apps/sample/static/",
            "/apps/nobody/static/sample.js",
        ):
            assert (await client.get(bad)).status_code == 404, bad


async def test_hook_console_pages_are_collected(apps: AppsComponent) -> None:
    assert [(p.app_id, p.page.id, p.page.module) for p in apps.pages] == [
        ("sample", "sample", "sample.js")
    ]


async def test_hook_scope_families_are_collected_first_claim_wins(
    services: AppServices, caplog: pytest.LogCaptureFixture
) -> None:
    @hookimpl
    def scope_families() -> list[str]:
        return ["sample", "copycat"]

    manager = AppManager()
    manager.register(sample, "sample")
    manager.register(types.SimpleNamespace(scope_families=scope_families), "copycat")
    with caplog.at_level(logging.ERROR):
        component = AppsComponent(manager, services)
    assert component.scope_families == {"sample": "sample", "copycat": "copycat"}
    assert any("already added by sample" in r.getMessage() for r in caplog.records)


async def test_hook_startup_runs_after_migrations(
    services: AppServices, apps: AppsComponent
) -> None:
    assert sample.CALLS[0] == "startup:sample"


async def test_hook_scheduled_jobs_run_under_the_app_id(
    services: AppServices, apps: AppsComponent
) -> None:
    assert "sample:tick" in services.scheduler.job_ids
    await eventually(lambda: "tick" in sample.CALLS)
    await apps.stop()
    assert "sample:tick" not in services.scheduler.job_ids


async def test_hook_shutdown_runs_at_stop(apps: AppsComponent) -> None:
    assert "shutdown:sample" not in sample.CALLS
    await apps.stop()
    assert sample.CALLS[-1] == "shutdown:sample"


async def test_hook_migrations_run_in_the_apps_own_version_table(
    services: AppServices, apps: AppsComponent
) -> None:
    inspector = sa.inspect(services.meta.engine)
    assert "sample_app_notes" in inspector.get_table_names()
    with services.meta.engine.connect() as conn:
        versions = conn.execute(sa.text(f"SELECT version_num FROM {version_table('sample')}"))
        assert versions.scalars().all() == ["s001"]
    # The platform's own chain is untouched and still upgrades.
    services.meta.migrate()


async def test_hook_committed_data_reaches_only_installed_tenants(
    services: AppServices, apps: AppsComponent
) -> None:
    await apps.on_committed(CommittedBatch(_points("acme", "beta", "acme"), historical=True))
    await apps.on_committed(
        CommittedBatch(_points("beta"))
    )  # nothing of acme: not delivered at all
    assert len(sample.BATCHES) == 1
    assert sample.BATCHES[0].points["tenant"].to_pylist() == ["acme", "acme"]
    assert sample.BATCHES[0].historical is True
    rows = [EventRow(t, "d", 1, "jam", "fault", {}) for t in ("beta", "acme")]
    await apps.on_committed(CommittedEvents(rows))
    assert [r.tenant for r in sample.EVENTS[0].rows] == ["acme"]
    services.installs.uninstall("acme", "sample")
    await apps.on_committed(CommittedBatch(_points("acme")))
    assert len(sample.BATCHES) == 1


async def test_a_failing_app_does_not_stop_the_others(
    services: AppServices, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[int] = []

    async def boom(batch: CommittedBatch) -> None:
        raise RuntimeError("bug in app")

    async def count(batch: CommittedBatch) -> None:
        seen.append(batch.points.num_rows)

    @hookimpl
    def committed_data_boom() -> Subscription:
        return Subscription(on_batch=boom)

    @hookimpl
    def committed_data_ok() -> Subscription:
        return Subscription(on_batch=count)

    @hookimpl
    async def startup_fails() -> None:
        raise OSError("no licence file")

    bad = types.SimpleNamespace(committed_data=committed_data_boom)
    good = types.SimpleNamespace(committed_data=committed_data_ok)
    dead = types.SimpleNamespace(startup=startup_fails, committed_data=committed_data_ok)
    manager = AppManager()
    for app_id, app in (("bad", bad), ("dead", dead), ("good", good)):
        manager.register(app, app_id)
        services.installs.install("acme", app_id)
    component = AppsComponent(manager, services)
    with caplog.at_level(logging.ERROR):
        await component.start()
        try:
            await component.on_committed(CommittedBatch(_points("acme")))
        finally:
            await component.stop()
    assert seen == [1]  # good got it; dead never subscribed
    messages = [r.getMessage() for r in caplog.records]
    assert "app dead failed to start: disabled until restart" in messages
    assert "app bad: committed-data handler failed" in messages


async def test_hooks_returning_the_wrong_things_are_dropped(
    services: AppServices, caplog: pytest.LogCaptureFixture
) -> None:
    @hookimpl
    def console_pages() -> list[object]:
        return ["not a page"]

    @hookimpl
    def routes() -> list[object]:
        raise RuntimeError("cannot build router")

    manager = AppManager()
    manager.register(types.SimpleNamespace(console_pages=console_pages, routes=routes), "odd")
    with caplog.at_level(logging.ERROR):
        component = AppsComponent(manager, services)
    assert component.pages == []
    assert [r.prefix for r in component.routers if r.prefix] == []  # only the static one
    messages = [r.getMessage() for r in caplog.records]
    assert "app odd: hook routes failed" in messages
    assert "app odd: pages returned something other than ConsolePage" in messages
