"""Dashboards: list, create, read, save (with the version the edit started from), delete,
share by link within the tenant, export and import as JSON. The rules are
:mod:`helan.services.dashboards`'; this router only shapes them for HTTP."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response
from fastapi.responses import JSONResponse

from helan.api.deps import Meta, Paging, Reader, Writer
from helan.api.schemas.common import Page
from helan.api.schemas.dashboards import (
    DashboardCreate,
    DashboardOut,
    DashboardSummary,
    DashboardUpdate,
    ShareOut,
)
from helan.services import dashboards as service
from helan.storage.meta.models_console import Dashboard

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["dashboards"])


def _out(row: Dashboard) -> DashboardOut:
    return DashboardOut(
        id=row.id,
        title=row.title,
        description=row.description,
        owner=row.owner,
        spec=row.spec,
        version=row.version,
        shared=row.share_digest is not None,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _input(body: DashboardCreate | DashboardUpdate) -> service.DashboardInput:
    return service.DashboardInput(title=body.title, description=body.description, spec=body.spec)


@router.get("/dashboards")
def list_dashboards(
    tenant: str, principal: Reader, meta: Meta, paging: Annotated[Paging, Depends()]
) -> Page[DashboardSummary]:
    """One's own dashboards (a tenant administrator: all of the tenant's)."""
    found = service.list_dashboards(meta, tenant, principal, paging)
    items = [
        DashboardSummary(
            id=r.id,
            title=r.title,
            description=r.description,
            owner=r.owner,
            version=r.version,
            shared=r.share_digest is not None,
            widgets=len(r.spec.get("widgets", [])),
            updated_at=r.updated_at,
        )
        for r in found.rows
    ]
    return Page(items=items, total=found.total, limit=paging.limit, offset=paging.offset)


@router.post("/dashboards", status_code=201)
def create_dashboard(
    tenant: str, body: DashboardCreate, principal: Writer, meta: Meta
) -> DashboardOut:
    return _out(service.create_dashboard(meta, tenant, _input(body), principal, dashboard=body.id))


@router.post("/dashboards:import", status_code=201)
def import_dashboard(
    tenant: str,
    principal: Writer,
    meta: Meta,
    document: Annotated[Any, Body(description="A document made by .../export")],
    id: Annotated[str | None, Query(max_length=64, description="Import under this id")] = None,
) -> DashboardOut:
    """Refused whole, with each problem's position, on an unknown widget type, a bad layout
    or a spec over 256 KB (413)."""
    return _out(service.import_document(meta, tenant, document, principal, dashboard=id))


@router.get("/dashboards/{dashboard}")
def get_dashboard(tenant: str, dashboard: str, principal: Reader, meta: Meta) -> DashboardOut:
    return _out(service.get_dashboard(meta, tenant, dashboard, principal))


@router.put("/dashboards/{dashboard}")
def save_dashboard(
    tenant: str, dashboard: str, body: DashboardUpdate, principal: Writer, meta: Meta
) -> DashboardOut:
    """409 ``stale_version`` when someone saved since ``version``."""
    row = service.update_dashboard(meta, tenant, dashboard, _input(body), body.version, principal)
    return _out(row)


@router.delete("/dashboards/{dashboard}", status_code=204)
def delete_dashboard(tenant: str, dashboard: str, principal: Writer, meta: Meta) -> Response:
    service.delete_dashboard(meta, tenant, dashboard, principal)
    return Response(status_code=204)


@router.get("/dashboards/{dashboard}/export")
def export_dashboard(tenant: str, dashboard: str, principal: Reader, meta: Meta) -> JSONResponse:
    row = service.get_dashboard(meta, tenant, dashboard, principal)
    return JSONResponse(
        service.export_document(row),
        headers={"Content-Disposition": f'attachment; filename="dashboard-{row.id}.json"'},
    )


@router.post("/dashboards/{dashboard}/share")
def share_dashboard(tenant: str, dashboard: str, principal: Writer, meta: Meta) -> ShareOut:
    """A new read-only link for the tenant's members; the previous link stops working."""
    shared = service.share_dashboard(meta, tenant, dashboard, principal)
    return ShareOut(token=shared.token, path=f"/#/dashboards/shared/{shared.token}")


@router.delete("/dashboards/{dashboard}/share", status_code=204)
def unshare_dashboard(tenant: str, dashboard: str, principal: Writer, meta: Meta) -> Response:
    service.unshare_dashboard(meta, tenant, dashboard, principal)
    return Response(status_code=204)


@router.get("/dashboard-shares/{token}")
def shared_dashboard(tenant: str, token: str, _: Reader, meta: Meta) -> DashboardOut:
    """A dashboard shared by link, for any signed-in member of the tenant (read-only)."""
    return _out(service.shared_dashboard(meta, tenant, token))
