"""The app catalogue, per tenant: read for every member, writes (install, configure, enable,
disable, uninstall; each audited) for tenant admins; ``GET /api/v1/apps/usage`` (platform
administrators) gives the usage counters behind the regional indicator "apps in use".

The catalogue itself belongs to the apps component (``platform.apps.catalogue``: manifests
come from the loaded apps); this router only reaches it through the platform, so a process
without the apps role answers 404 for every app rather than a catalogue of nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from helan.api.deps import Admin, PlatformAdmin, Reader
from helan.core.errors import NotFound

if TYPE_CHECKING:
    from helan.apps.catalogue.service import Catalogue

router = APIRouter(tags=["apps"])
BASE = "/api/v1/tenants/{tenant}/apps"
AppId = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,63}$", max_length=64)]


class InstallBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    config: dict[str, Any] | None = Field(default=None, description="checked against the manifest")


class UpdateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool | None = None
    config: dict[str, Any] | None = None


def _catalogue(request: Request) -> Catalogue:
    apps = getattr(request.app.state.platform, "apps", None)
    if apps is None:
        raise NotFound("no apps run in this process (the apps role is elsewhere)")
    catalogue: Catalogue = apps.catalogue
    return catalogue


@router.get(BASE, summary="The app catalogue as this tenant sees it")
async def list_apps(tenant: str, _: Reader, request: Request) -> dict[str, Any]:
    return {"items": await run_in_threadpool(_catalogue(request).entries, tenant)}


@router.get(BASE + "/{app_id}", summary="One app of the catalogue")
async def get_app(tenant: str, app_id: AppId, _: Reader, request: Request) -> dict[str, Any]:
    return await run_in_threadpool(_catalogue(request).entry, tenant, app_id)


@router.put(BASE + "/{app_id}", summary="Install an app (or install it again), audited")
async def install_app(
    tenant: str, app_id: AppId, body: InstallBody, principal: Admin, request: Request
) -> dict[str, Any]:
    catalogue = _catalogue(request)
    return await run_in_threadpool(
        lambda: catalogue.install(
            principal, tenant, app_id, enabled=body.enabled, config=body.config
        )
    )


@router.patch(BASE + "/{app_id}", summary="Enable, disable or configure an installed app")
async def update_app(
    tenant: str, app_id: AppId, body: UpdateBody, principal: Admin, request: Request
) -> dict[str, Any]:
    catalogue = _catalogue(request)
    return await run_in_threadpool(
        lambda: catalogue.update(
            principal, tenant, app_id, enabled=body.enabled, config=body.config
        )
    )


@router.delete(BASE + "/{app_id}", status_code=204, summary="Uninstall an app, audited")
async def uninstall_app(tenant: str, app_id: AppId, principal: Admin, request: Request) -> Response:
    await run_in_threadpool(_catalogue(request).uninstall, principal, tenant, app_id)
    return Response(status_code=204)


@router.get("/api/v1/apps/usage", summary="Installs, active tenants and calls per app")
async def apps_usage(_: PlatformAdmin, request: Request) -> dict[str, Any]:
    catalogue = _catalogue(request)
    return await run_in_threadpool(catalogue.usage)
