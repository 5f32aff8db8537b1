"""The plant as a tree: site → line → cell, with device groups anywhere; devices hang off
any node. The tree is kept acyclic and a node in use cannot be deleted."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.orm import Session

from helan.api.deps import Meta, Paging, Reader, Writer
from helan.api.schemas.common import Page
from helan.api.schemas.things import AssetCreate, AssetKind, AssetNode, AssetOut, AssetPatch
from helan.core.errors import Conflict, NotFound, ValidationFailed
from helan.security.audit import audited
from helan.storage.meta.models import Asset, Device
from helan.storage.meta.query import contains, order_by, page

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["assets"])

SORT = {"id": Asset.id, "name": Asset.name, "kind": Asset.kind, "created_at": Asset.created_at}
# Which kinds of node each kind may hang under (None: top level).
PARENT_KINDS: dict[str, frozenset[str | None]] = {
    "site": frozenset({None}),
    "line": frozenset({"site"}),
    "cell": frozenset({"line"}),
    "device-group": frozenset({None, "site", "line", "cell", "device-group"}),
}


def _asset(s: Session, tenant: str, asset: str) -> Asset:
    row = s.get(Asset, (tenant, asset))
    if row is None:
        raise NotFound(f"asset {asset!r} not found")
    return row


def _check_parent(s: Session, tenant: str, asset: str, kind: str, parent: str | None) -> None:
    parent_row = None
    if parent is not None:
        parent_row = s.get(Asset, (tenant, parent))
        if parent_row is None:
            raise ValidationFailed(f"unknown parent asset {parent!r}", code="unknown_reference")
    allowed = PARENT_KINDS[kind]
    parent_kind = parent_row.kind if parent_row else None
    if parent_kind not in allowed:
        wanted = " or ".join(sorted(k or "no parent" for k in allowed))
        raise ValidationFailed(f"a {kind} must be under {wanted}, not {parent_kind or 'the root'}")
    node = parent_row
    while node is not None:  # walk up: the new parent must not be the node or below it
        if node.id == asset:
            raise ValidationFailed(f"moving {asset!r} under {parent!r} would make a cycle")
        node = s.get(Asset, (tenant, node.parent_id)) if node.parent_id else None


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
    stmt = sa.select(Asset).where(Asset.tenant_id == tenant)
    if kind is not None:
        stmt = stmt.where(Asset.kind == kind)
    if parent is not None:
        stmt = stmt.where(Asset.parent_id == parent)
    if q:
        stmt = stmt.where(sa.or_(contains(Asset.id, q), contains(Asset.name, q)))
    with meta.session() as s:
        rows, total = page(
            s,
            stmt,
            order=order_by(paging.sort, SORT, "id", [Asset.id]),
            limit=paging.limit,
            offset=paging.offset,
        )
        items = [AssetOut.model_validate(r) for r in rows]
    return Page(items=items, total=total, limit=paging.limit, offset=paging.offset)


@router.post("/assets", status_code=201)
def create_asset(tenant: str, body: AssetCreate, principal: Writer, meta: Meta) -> AssetOut:
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="asset.create",
        object_type="asset",
        object_id=body.id,
    ) as s:
        if s.get(Asset, (tenant, body.id)) is not None:
            raise Conflict(f"asset {body.id!r} already exists")
        _check_parent(s, tenant, body.id, body.kind, body.parent)
        row = Asset(
            tenant_id=tenant, id=body.id, name=body.name, kind=body.kind, parent_id=body.parent
        )
        s.add(row)
        s.flush()
        return AssetOut.model_validate(row)


@router.get("/assets/{asset}")
def get_asset(tenant: str, asset: str, _: Reader, meta: Meta) -> AssetOut:
    with meta.session() as s:
        return AssetOut.model_validate(_asset(s, tenant, asset))


@router.patch("/assets/{asset}")
def patch_asset(
    tenant: str, asset: str, body: AssetPatch, principal: Writer, meta: Meta
) -> AssetOut:
    """Rename, or move under another parent (``parent: null`` moves to the top level)."""
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="asset.update",
        object_type="asset",
        object_id=asset,
    ) as s:
        row = _asset(s, tenant, asset)
        if "parent" in body.model_fields_set:
            _check_parent(s, tenant, asset, row.kind, body.parent)
            row.parent_id = body.parent
        if body.name is not None:
            row.name = body.name
        s.flush()
        return AssetOut.model_validate(row)


@router.delete("/assets/{asset}", status_code=204)
def delete_asset(tenant: str, asset: str, principal: Writer, meta: Meta) -> Response:
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="asset.delete",
        object_type="asset",
        object_id=asset,
    ) as s:
        row = _asset(s, tenant, asset)
        children = s.scalar(
            sa.select(sa.func.count())
            .select_from(Asset)
            .where(Asset.tenant_id == tenant, Asset.parent_id == asset)
        )
        devices = s.scalar(
            sa.select(sa.func.count())
            .select_from(Device)
            .where(Device.tenant_id == tenant, Device.asset_id == asset)
        )
        if children or devices:
            raise Conflict(
                f"asset {asset!r} still has {children} child node(s) and {devices} device(s)"
            )
        s.delete(row)
    return Response(status_code=204)


@router.get("/asset-tree")
def asset_tree(tenant: str, _: Reader, meta: Meta) -> list[AssetNode]:
    """Every node with its children and the ids of the devices attached to it."""
    with meta.session() as s:
        assets = s.execute(
            sa.select(Asset.id, Asset.name, Asset.kind, Asset.parent_id)
            .where(Asset.tenant_id == tenant)
            .order_by(Asset.id)
        ).all()
        attached = s.execute(
            sa.select(Device.asset_id, Device.id)
            .where(Device.tenant_id == tenant, Device.asset_id.is_not(None))
            .order_by(Device.id)
        ).all()
    devices: dict[str, list[str]] = defaultdict(list)
    for asset_id, device_id in attached:
        devices[str(asset_id)].append(device_id)
    nodes = {
        a.id: AssetNode(id=a.id, name=a.name, kind=a.kind, devices=devices[a.id], children=[])
        for a in assets
    }
    roots: list[AssetNode] = []
    for a in assets:
        (nodes[a.parent_id].children if a.parent_id else roots).append(nodes[a.id])
    return roots
