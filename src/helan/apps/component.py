"""The apps as one platform component: collects what each app declares, runs its lifecycle,
and hands it committed data of its tenants only.

What the API needs (routers) is collected when the component is built, because the FastAPI
app is made before the platform starts; everything that runs (migrations, jobs, startup) waits
for :meth:`AppsComponent.start`. One app's failing hook is logged and never stops another app
or the platform; an app whose migrations or startup fail is left out of the fan-out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse

from helan.apps.catalogue.service import Catalogue
from helan.apps.catalogue.store import CallCounter, ensure_schema
from helan.apps.descriptors import AppManifest, ConsolePage, Subscription
from helan.apps.installs import AppInstalls
from helan.apps.manager import AppManager
from helan.apps.migrations import upgrade_app
from helan.apps.sdk import AppSDK, AppServices
from helan.core.errors import HelanError, NotFound
from helan.ingest.stream import Committed, CommittedBatch, CommittedEvents
from helan.jobs import Interval, JobSpec
from helan.storage.meta import MetaStore

log = logging.getLogger(__name__)
T = TypeVar("T")

INSTALLS_JOB = "apps:installs-refresh"
INSTALLS_REFRESH_S = 5.0
USAGE_JOB = "apps:usage-flush"
USAGE_FLUSH_S = 60.0
API_PREFIX = "/api/v1/apps"
STREAM_NAME = "apps"


@dataclass(frozen=True, slots=True)
class AppPage:
    app_id: str
    page: ConsolePage


class AppsComponent:
    """The platform's apps: one subscriber (``apps``) of the committed-data stream."""

    name = "apps"

    def __init__(self, manager: AppManager, services: AppServices) -> None:
        self.manager = manager
        self._services = services
        self.sdks = {a: AppSDK(a, services) for a in manager.app_ids}
        self.calls = CallCounter()
        self.manifests = self._collect_manifests()
        self.catalogue = Catalogue(services.meta, services.installs, self.manifests)
        self.routers = [*self._collect_routers(), self._static_router()]
        self.pages = self._collect_pages()
        self.scope_families = self._collect_scopes()
        self._subscriptions: dict[str, Subscription] = {}
        self._jobs: list[str] = []
        self._started: list[str] = []

    @property
    def installs(self) -> AppInstalls:
        return self._services.installs

    # -- what apps declare -------------------------------------------------------------------

    def _each(self, hook: str, *, with_sdk: bool = True) -> dict[str, list[object]]:
        """Results of ``hook`` per app; an app whose hook raises is logged and skipped."""
        out: dict[str, list[object]] = {}
        for app_id, sdk in self.sdks.items():
            try:
                kwargs = {"sdk": sdk} if with_sdk else {}
                out[app_id] = self.manager.call(app_id, hook, **kwargs)
            except Exception:  # any app's bug: the other apps still load
                log.exception("app %s: hook %s failed", app_id, hook)
        return out

    def _collect_manifests(self) -> dict[str, AppManifest]:
        """Each app's manifest; an app without one is listed under its id and version 0.0.0
        (a third-party app written before manifests existed still installs)."""
        found: dict[str, AppManifest] = {}
        for app_id, results in self._each("manifest", with_sdk=False).items():
            listed = [r for r in results if isinstance(r, AppManifest)]
            found[app_id] = (
                listed[0]
                if listed
                else AppManifest(name_zh=app_id, name_en=app_id, version="0.0.0")
            )
        return found

    def _count_call(self, app_id: str) -> Any:
        """A route dependency counting each answered call of the app's routes per tenant."""
        calls = self.calls

        async def count(request: Request) -> AsyncIterator[None]:
            yield  # counted once answered: a refused or failed call raises here instead
            tenant = request.path_params.get("tenant")
            calls.add(app_id, tenant if isinstance(tenant, str) else "-")

        return Depends(count)

    def _collect_routers(self) -> list[APIRouter]:
        mounted: list[APIRouter] = []
        for app_id, results in self._each("routes").items():
            outer = APIRouter(
                prefix=f"{API_PREFIX}/{app_id}",
                tags=[f"app:{app_id}"],
                dependencies=[self._count_call(app_id)],
            )
            for routers in results:
                for router in _listed(routers, APIRouter, app_id, "routes"):
                    outer.include_router(router)
            if outer.routes:
                mounted.append(outer)
        return mounted

    def _static_router(self) -> APIRouter:
        """``GET /apps/{app id}/static/{path}``: files of the ``static/`` folder next to each
        app's module, where its console pages' JS modules live."""
        roots = {a: d for a in self.manager.app_ids if (d := self.manager.static_dir(a))}
        router = APIRouter(tags=["apps"])

        @router.get("/apps/{app_id}/static/{path:path}", include_in_schema=False)
        async def static(app_id: str, path: str) -> FileResponse:
            root = roots.get(app_id)
            target = (root / path).resolve() if root is not None else None
            if root is None or target is None or not _inside(target, root):
                raise NotFound(f"no file {path!r} of app {app_id!r}")
            return FileResponse(target)

        return router

    def _collect_pages(self) -> list[AppPage]:
        pages: list[AppPage] = []
        for app_id, results in self._each("console_pages").items():
            for found in results:
                pages += [AppPage(app_id, p) for p in _listed(found, ConsolePage, app_id, "pages")]
        return pages

    def _collect_scopes(self) -> dict[str, str]:
        """Scope family -> the app that added it; a family claimed twice goes to the first."""
        families: dict[str, str] = {}
        for app_id, results in self._each("scope_families", with_sdk=False).items():
            for found in results:
                for family in _listed(found, str, app_id, "scope_families"):
                    if family in families:
                        log.error(
                            "app %s: scope family %r already added by %s",
                            app_id,
                            family,
                            families[family],
                        )
                    else:
                        families[family] = app_id
        return families

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        installs = self._services.installs
        await asyncio.to_thread(ensure_schema, self._services.meta)
        await asyncio.to_thread(installs.reload)
        meta, calls = self._services.meta, self.calls
        self._services.scheduler.add(
            JobSpec(
                id=USAGE_JOB,
                trigger=Interval(seconds=USAGE_FLUSH_S),
                run=lambda: asyncio.to_thread(_flush, calls, meta),
            )
        )
        self._jobs.append(USAGE_JOB)
        self._services.scheduler.add(
            JobSpec(
                id=INSTALLS_JOB,
                trigger=Interval(seconds=INSTALLS_REFRESH_S),
                run=lambda: asyncio.to_thread(installs.reload),
            )
        )
        self._jobs.append(INSTALLS_JOB)
        for app_id, sdk in self.sdks.items():
            if await self._start_app(app_id, sdk):
                self._started.append(app_id)
        self._services.ingest.stream.subscribe(STREAM_NAME, self.on_committed)

    async def _start_app(self, app_id: str, sdk: AppSDK) -> bool:
        try:
            for path in self.manager.call(app_id, "migrations"):
                await asyncio.to_thread(upgrade_app, self._services.meta, app_id, Path(path))
            for coro in self.manager.call(app_id, "startup", sdk=sdk):
                await coro
            for found in self.manager.call(app_id, "scheduled_jobs", sdk=sdk):
                for spec in _listed(found, JobSpec, app_id, "scheduled_jobs"):
                    self._jobs.append(sdk.schedule(spec))
            for sub in self.manager.call(app_id, "committed_data", sdk=sdk):
                if not isinstance(sub, Subscription):
                    raise HelanError(f"committed_data returned {type(sub).__name__}")
                self._subscriptions[app_id] = sub
        except Exception:  # the app stays off; the platform and the other apps run
            log.exception("app %s failed to start: disabled until restart", app_id)
            self._subscriptions.pop(app_id, None)
            return False
        return True

    async def stop(self) -> None:
        await self._services.ingest.stream.unsubscribe(STREAM_NAME)
        for job_id in reversed(self._jobs):
            self._services.scheduler.remove(job_id)
        self._jobs.clear()
        self._subscriptions.clear()
        await asyncio.to_thread(_flush, self.calls, self._services.meta)
        for app_id in reversed(self._started):
            try:
                for coro in self.manager.call(app_id, "shutdown", sdk=self.sdks[app_id]):
                    await coro
            except Exception:  # one app's failed clean-up must not keep the others running
                log.exception("app %s failed to shut down", app_id)
        self._started.clear()

    # -- committed data ----------------------------------------------------------------------

    async def on_committed(self, item: Committed) -> None:
        """The apps' subscriber of the committed-data stream: each subscribed app gets what is
        of its tenants only; one app's failing handler does not keep the others from theirs."""
        for app_id, sub in list(self._subscriptions.items()):
            tenants = self.sdks[app_id].tenants()
            if not tenants:
                continue
            if isinstance(item, CommittedBatch):
                if sub.on_batch is None:
                    continue
                value_set = pa.array(sorted(tenants), pa.string())
                mine = item.points.filter(pc.is_in(item.points["tenant"], value_set=value_set))
                if mine.num_rows:
                    cut = CommittedBatch(mine, item.historical, item.committed_ms)
                    await _isolated(app_id, sub.on_batch(cut))
            elif sub.on_events is not None:
                rows = [r for r in item.rows if r.tenant in tenants]
                if rows:
                    cut_events = CommittedEvents(rows, item.historical, item.committed_ms)
                    await _isolated(app_id, sub.on_events(cut_events))


def _flush(calls: CallCounter, meta: MetaStore) -> None:
    calls.flush(meta)


def _inside(target: Path, root: Path) -> bool:
    """A file under ``root`` once links and ``..`` are resolved (no path leaves the folder)."""
    return target.is_relative_to(root) and target.is_file()


def load_apps(services: AppServices, *, entry_points: bool = True) -> AppsComponent:
    """A fresh manager with the built-in apps and (unless told not to) the installed
    ``helan.apps`` entry points, as the platform does when it is built."""
    manager = AppManager()
    manager.load_builtins()
    if entry_points:
        manager.load_entry_points()
    return AppsComponent(manager, services)


async def _isolated(app_id: str, handler: Coroutine[Any, Any, None]) -> None:
    try:
        await handler
    except Exception:  # an app's handler bug is its own; delivery to the others goes on
        log.exception("app %s: committed-data handler failed", app_id)


def _listed(found: object, kind: type[T], app_id: str, hook: str) -> list[T]:
    """``found`` as a list of ``kind``; anything else is the app's error, logged and dropped."""
    items = found if isinstance(found, list | tuple) else [found]
    good = [i for i in items if isinstance(i, kind)]
    if len(good) != len(items):
        log.error("app %s: %s returned something other than %s", app_id, hook, kind.__name__)
    return good
