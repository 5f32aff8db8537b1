"""Every extension point an app can implement (pluggy hook specifications).

An app is a module or object with functions of these names marked ``@hookimpl``; it may take
any subset of a hook's arguments. Each hook is called once per app with that app's own
:class:`~helan.apps.sdk.AppSDK`, so an app only ever sees the tenants that installed it.
docs/apps.md documents each one; tests/apps/test_hook_docs.py keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from fastapi import APIRouter

    from helan.apps.descriptors import AppManifest, ConsolePage, Subscription
    from helan.apps.sdk import AppSDK
    from helan.jobs.spec import JobSpec

PROJECT = "helan"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def routes(sdk: AppSDK) -> list[APIRouter]:
    """FastAPI routers to mount under /api/v1/apps/{app id}."""
    raise NotImplementedError


@hookspec
def console_pages(sdk: AppSDK) -> list[ConsolePage]:
    """Pages the web console lists for tenants that installed the app."""
    raise NotImplementedError


@hookspec
def startup(sdk: AppSDK) -> Coroutine[Any, Any, None]:
    """Async work when the platform starts, after the stores and the scheduler are up."""
    raise NotImplementedError


@hookspec
def shutdown(sdk: AppSDK) -> Coroutine[Any, Any, None]:
    """Async clean-up when the platform stops, before the stores close."""
    raise NotImplementedError


@hookspec
def committed_data(sdk: AppSDK) -> Subscription:
    """Handlers for committed point batches and device events of the app's tenants."""
    raise NotImplementedError


@hookspec
def scheduled_jobs(sdk: AppSDK) -> list[JobSpec]:
    """Jobs for the platform's scheduler; their ids are prefixed with the app id."""
    raise NotImplementedError


@hookspec
def scope_families() -> list[str]:
    """API-key scope families the app adds (e.g. ``oee`` gives ``oee:read``, ``oee:write``)."""
    raise NotImplementedError


@hookspec
def migrations() -> Path:
    """The app's own alembic versions directory, applied in a version table of its own."""
    raise NotImplementedError


@hookspec
def manifest() -> AppManifest:
    """The app's catalogue entry: names zh/en, version, scopes needed, config JSON Schema."""
    raise NotImplementedError
