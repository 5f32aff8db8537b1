"""The plant's asset tree (the rules are in :mod:`helan.services.assets`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from helan.api.deps import Meta, Paging, Reader, Writer
from helan.api.schemas.common import Page
from helan.api.schemas.things import AssetCreate, AssetKind, AssetNode, AssetOut, AssetPatch
from helan.services import assets as service

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["assets"])


def _node(n: service.Node) -> AssetNode:
    children = [_node(c) for c in n.children]
    return AssetNode(id=n.id, name=n.name, kind=n.kind, devices=n.devices, children=children)


@router.get("/assets", response_model=Page[AssetOut])
def list_assets(
    tenant: str,
    _: Reader,
    meta: Meta,
    paging: Annotated[Paging, Depends()],
    kind: AssetKind | None = None,
    parent: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text in id or name")] = None,
) -> Page[AssetOut]:
    found = service.list_assets(meta, tenant, paging, kind=kind, parent=parent, q=q)
    items = [AssetOut.model_validate(r) for r in found.rows]
    return Page(items=items, total=found.total, limit=paging.limit, offset=paging.offset)


@router.post("/assets", status_code=201)
def create_asset(tenant: str, body: AssetCreate, principal: Writer, meta: Meta) -> AssetOut:
    row = service.create_asset(
        meta, principal, tenant, asset=body.id, name=body.name, kind=body.kind, parent=body.parent
    )
    return AssetOut.model_validate(row)


@router.get("/assets/{asset}")
def get_asset(tenant: str, asset: str, _: Reader, meta: Meta) -> AssetOut:
    return AssetOut.model_validate(service.get_asset(meta, tenant, asset))


@router.patch("/assets/{asset}")
def patch_asset(
    tenant: str, asset: str, body: AssetPatch, principal: Writer, meta: Meta
) -> AssetOut:
    """Rename, or move under another parent (``parent: null`` moves to the top level)."""
    row = service.update_asset(
        meta,
        principal,
        tenant,
        asset,
        name=body.name,
        move="parent" in body.model_fields_set,
        parent=body.parent,
    )
    return AssetOut.model_validate(row)


@router.delete("/assets/{asset}", status_code=204)
def delete_asset(tenant: str, asset: str, principal: Writer, meta: Meta) -> Response:
    service.delete_asset(meta, principal, tenant, asset)
    return Response(status_code=204)


@router.get("/asset-tree")
def asset_tree(tenant: str, _: Reader, meta: Meta) -> list[AssetNode]:
    """Every node with its children and the ids of the devices attached to it."""
    return [_node(n) for n in service.asset_tree(meta, tenant)]
