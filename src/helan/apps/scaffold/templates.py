# ruff: noqa: E501  (the templates are the generated files' text, lines as the new app has them)
"""The files of a new app; ``{{name}}``, ``{{package}}`` and ``{{title}}`` are filled in."""

from __future__ import annotations

PYPROJECT = """[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "helan-app-{{name}}"
version = "0.1.0"
description = "{{title}}: a Helan industrial app"
requires-python = ">=3.11"
dependencies = ["helan"]

[project.entry-points."helan.apps"]
{{name}} = "{{package}}"

[tool.setuptools.packages.find]
where = ["src"]

[tool.setuptools.package-data]
{{package}} = ["static/*.js"]

[tool.pytest.ini_options]
asyncio_mode = "auto"
testpaths = ["tests"]
"""

README = """# {{title}} (Helan app `{{name}}`)

Made with `helan app new {{name}}`. Install it next to Helan and restart the platform:

    pip install ./{{name}}
    pytest {{name}}/tests

A tenant admin then installs it from the console (Administration → App catalogue). Its route is
`GET /api/v1/apps/{{name}}/tenants/{tenant}/summary`, its page is listed under "Apps". Hooks and
the SDK: Helan's docs/apps.md.
"""

APP = '''"""{{title}}: a Helan app. Every hook is optional; these show the usual ones."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Path

from helan.api.deps import Reader
from helan.apps import ConsolePage, hookimpl
from helan.apps.descriptors import AppManifest
from helan.apps.sdk import AppSDK, DerivedPoint
from helan.jobs import Interval, JobSpec

METRIC = "{{name}}.devices"


@hookimpl
def manifest() -> AppManifest:
    return AppManifest(
        name_zh="{{title}}",
        name_en="{{title}}",
        version="0.1.0",
        description_en="Counts the tenant's enabled devices",
        scopes=("{{name}}:read",),
        config_schema={
            "type": "object",
            "additionalProperties": False,
            "properties": {"greeting": {"type": "string", "maxLength": 40}},
        },
    )


async def summary_of(sdk: AppSDK, tenant: str) -> dict[str, Any]:
    scope = sdk.tenant(tenant)  # Forbidden unless the tenant installed the app
    devices = [d for d in await scope.devices() if d.enabled]
    config = await scope.config()
    return {"tenant": tenant, "devices": len(devices), "greeting": config.get("greeting", "")}


@hookimpl
def routes(sdk: AppSDK) -> list[APIRouter]:
    router = APIRouter()

    @router.get("/tenants/{tenant}/summary", summary="The tenant's enabled devices")
    async def summary(tenant: Annotated[str, Path()], principal: Reader) -> dict[str, Any]:
        return await summary_of(sdk, tenant)

    return [router]


async def write_counts(sdk: AppSDK) -> int:
    """Write the number of enabled devices on each device of each installing tenant."""
    written = 0
    now = time.time_ns() // 1_000_000
    for tenant in sorted(sdk.tenants()):
        scope = sdk.tenant(tenant)
        devices = [d for d in await scope.devices() if d.enabled]
        points = [DerivedPoint(device=d.id, metric=METRIC, ts=now, value=float(len(devices)))
                  for d in devices]
        written += await scope.write_metrics(points)
    return written


@hookimpl
def scheduled_jobs(sdk: AppSDK) -> list[JobSpec]:
    async def run() -> None:
        await write_counts(sdk)

    return [JobSpec(id="count", trigger=Interval(seconds=300), run=run)]


@hookimpl
def console_pages() -> list[ConsolePage]:
    return [ConsolePage(id="{{name}}".replace("_", "-"), title_zh="{{title}}", title_en="{{title}}",
                        module="{{name}}.js")]


@hookimpl
def scope_families() -> list[str]:
    return ["{{name}}"]
'''

PAGE = """// {{title}}: render(root, {tenant, fetchJson, lang}) draws the page into root (text only).
export async function render(root, { tenant, fetchJson }) {
  const data = await fetchJson(`/api/v1/apps/{{name}}/tenants/${encodeURIComponent(tenant)}/summary`);
  const p = document.createElement("p");
  p.textContent = `${data.greeting} ${data.devices} devices`.trim();
  root.replaceChildren(p);
}
"""

TESTS = '''"""The app through Helan's own plugin manager: it registers, declares a valid manifest, a
route and a page whose module ships with it; its summary counts only its tenant's devices."""

from __future__ import annotations

from pathlib import Path

import pytest

import {{package}} as app
from helan.apps.installs import AppInstalls
from helan.apps.manager import AppManager
from helan.apps.sdk import AppSDK, AppServices
from helan.config import Settings
from helan.core.errors import Forbidden
from helan.ingest.live import LiveState
from helan.ingest.pipeline import IngestPipeline
from helan.jobs import Scheduler
from helan.storage.meta import MetaStore
from helan.storage.meta.events import EventStore
from helan.storage.meta.models import Device, Tenant
from helan.storage.telemetry import open_store


def test_registers_with_the_platforms_manager() -> None:
    manager = AppManager()
    manager.register(app, "{{name}}")
    assert manager.app_ids == ["{{name}}"]


def test_manifest_and_page() -> None:
    assert app.manifest().version == "0.1.0"
    page = app.console_pages()[0]
    assert (Path(app.__file__).parent / "static" / page.module).is_file()


async def test_summary_counts_the_installing_tenants_devices(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    meta = MetaStore(settings.metadata_url)
    meta.migrate()
    with meta.session() as s:
        s.add(Tenant(id="acme", name="Acme"))
        s.add(Tenant(id="beta", name="Beta"))
        s.flush()
        s.add(Device(tenant_id="acme", id="d-1", name="D1", credential_hash="x"))
    telemetry = open_store(settings)
    live = LiveState(offline_after_s=60)
    services = AppServices(meta=meta, telemetry=telemetry, live=live,
                           ingest=IngestPipeline(telemetry, live, settings, events=EventStore(meta)),
                           scheduler=Scheduler(), installs=AppInstalls(meta))
    services.installs.install("acme", "{{name}}")
    sdk = AppSDK("{{name}}", services)
    try:
        assert (await app.summary_of(sdk, "acme"))["devices"] == 1
        with pytest.raises(Forbidden):
            await app.summary_of(sdk, "beta")
    finally:
        telemetry.close()
        meta.close()
'''

FILES = {
    "pyproject.toml": PYPROJECT,
    "README.md": README,
    "src/{package}/__init__.py": APP,
    "src/{package}/static/{name}.js": PAGE,
    "tests/test_{name}.py": TESTS,
}
