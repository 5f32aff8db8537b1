"""The plant as a tree: site → line → cell, with device groups anywhere; devices hang off any
node. The tree is kept acyclic and a node in use cannot be deleted."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from helan.core.errors import Conflict, NotFound, ValidationFailed
from helan.security.audit import audited
from helan.security.principal import Principal
from helan.services.paging import Listing, PageRequest, listing
from helan.storage.meta import MetaStore
from helan.storage.meta.models import Asset, Device
from helan.storage.meta.query import contains

SORT = {"id": Asset.id, "name": Asset.name, "kind": Asset.kind, "created_at": Asset.created_at}
# Which kinds of node each kind may hang under (None: top level).
PARENT_KINDS: dict[str, frozenset[str | None]] = {
    "site": frozenset({None}),
    "line": frozenset({"site"}),
    "cell": frozenset({"line"}),
    "device-group": frozenset({None, "site", "line", "cell", "device-group"}),
}
MAX_DEPTH = 16  # site → line → cell plus nested device groups; a subtree walk stops here


@dataclass
class Node:
    """A node of the tree with its children and the ids of the devices attached to it."""

    id: str
    name: str
    kind: str
    devices: list[str] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)


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


def list_assets(
    meta: MetaStore,
    tenant: str,
    paging: PageRequest,
    *,
    kind: str | None = None,
    parent: str | None = None,
    q: str | None = None,
) -> Listing[Asset]:
    stmt = sa.select(Asset).where(Asset.tenant_id == tenant)
    if kind is not None:
        stmt = stmt.where(Asset.kind == kind)
    if parent is not None:
        stmt = stmt.where(Asset.parent_id == parent)
    if q:
        stmt = stmt.where(sa.or_(contains(Asset.id, q), contains(Asset.name, q)))
    return listing(meta, stmt, paging, sort=SORT, default="id", tiebreak=[Asset.id])


def get_asset(meta: MetaStore, tenant: str, asset: str) -> Asset:
    with meta.session() as s:
        return _asset(s, tenant, asset)


def create_asset(
    meta: MetaStore,
    principal: Principal,
    tenant: str,
    *,
    asset: str,
    name: str,
    kind: str,
    parent: str | None,
) -> Asset:
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="asset.create",
        object_type="asset",
        object_id=asset,
    ) as s:
        if s.get(Asset, (tenant, asset)) is not None:
            raise Conflict(f"asset {asset!r} already exists")
        _check_parent(s, tenant, asset, kind, parent)
        row = Asset(tenant_id=tenant, id=asset, name=name, kind=kind, parent_id=parent)
        s.add(row)
        s.flush()
        return row


def update_asset(
    meta: MetaStore,
    principal: Principal,
    tenant: str,
    asset: str,
    *,
    name: str | None = None,
    move: bool = False,
    parent: str | None = None,
) -> Asset:
    """Rename, and with ``move`` put it under ``parent`` (None: the top level)."""
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="asset.update",
        object_type="asset",
        object_id=asset,
    ) as s:
        row = _asset(s, tenant, asset)
        if move:
            _check_parent(s, tenant, asset, row.kind, parent)
            row.parent_id = parent
        if name is not None:
            row.name = name
        s.flush()
        return row


def delete_asset(meta: MetaStore, principal: Principal, tenant: str, asset: str) -> None:
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


def asset_tree(meta: MetaStore, tenant: str) -> list[Node]:
    """The roots, each with its subtree and attached devices."""
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
    nodes = {a.id: Node(id=a.id, name=a.name, kind=a.kind, devices=devices[a.id]) for a in assets}
    roots: list[Node] = []
    for a in assets:
        (nodes[a.parent_id].children if a.parent_id else roots).append(nodes[a.id])
    return roots


def subtree(s: Session, tenant: str, root: str) -> list[str]:
    """The asset and everything below it (the walk stops at :data:`MAX_DEPTH` levels)."""
    found, frontier = [root], [root]
    for _ in range(MAX_DEPTH):
        frontier = list(
            s.scalars(
                sa.select(Asset.id).where(Asset.tenant_id == tenant, Asset.parent_id.in_(frontier))
            )
        )
        if not frontier:
            break
        found.extend(frontier)
    return found
