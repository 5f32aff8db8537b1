"""REST routes of the catalogue, per tenant: read for every member, writes for tenant admins;
``GET /api/v1/apps/usage`` (platform administrators) gives the usage counters."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from helan.api.deps import Admin, PlatformAdmin, Reader
from helan.apps.catalogue.service import Catalogue, usage

AppId = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class InstallBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    config: dict[str, Any] | None = Field(default=None, description="checked against the manifest")


class UpdateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool | None = None
    config: dict[str, Any] | None = None


def catalogue_router(catalogue: Catalogue) -> APIRouter:
    router = APIRouter(tags=["apps"])
    base = "/api/v1/tenants/{tenant}/apps"

    @router.get(base, summary="The app catalogue as this tenant sees it")
    async def list_apps(tenant: str, _: Reader) -> dict[str, Any]:
        return {"items": await run_in_threadpool(catalogue.entries, tenant)}

    @router.get(base + "/{app_id}", summary="One app of the catalogue")
    async def get_app(tenant: str, app_id: AppId, _: Reader) -> dict[str, Any]:
        return await run_in_threadpool(catalogue.entry, tenant, app_id)

    @router.put(base + "/{app_id}", summary="Install an app (or re-install it), audited")
    async def install_app(
        tenant: str, app_id: AppId, body: InstallBody, principal: Admin
    ) -> dict[str, Any]:
        return await run_in_threadpool(
            lambda: catalogue.install(
                principal, tenant, app_id, enabled=body.enabled, config=body.config
            )
        )

    @router.patch(base + "/{app_id}", summary="Enable, disable or configure an installed app")
    async def update_app(
        tenant: str, app_id: AppId, body: UpdateBody, principal: Admin
    ) -> dict[str, Any]:
        return await run_in_threadpool(
            lambda: catalogue.update(
                principal, tenant, app_id, enabled=body.enabled, config=body.config
            )
        )

    @router.delete(base + "/{app_id}", status_code=204, summary="Uninstall an app, audited")
    async def uninstall_app(tenant: str, app_id: AppId, principal: Admin) -> Response:
        await run_in_threadpool(catalogue.uninstall, principal, tenant, app_id)
        return Response(status_code=204)

    @router.get("/api/v1/apps/usage", summary="Installs, active tenants and calls per app")
    async def apps_usage(_: PlatformAdmin) -> dict[str, Any]:
        return await run_in_threadpool(usage, catalogue.meta)

    return router
