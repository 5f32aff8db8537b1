"""Products: the units, batches and parts a tenant produced, for traceability. Each may name
the device that made it (``made_by``) and the batch it belongs to (``batch``: a product of kind
``batch``; batches do not nest), and gets an identifier under the tenant's prefix like a device
does, from the same namespace: a product never takes a device's identifier, or the reverse.

``POST .../products:bulk`` creates up to 10,000 at once: every item is checked before any is
written, one bad item rejects the request with an error per item, and all are written in one
transaction, so their identifier records are written in one sync too."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Body, Depends, Query, Response
from sqlalchemy.orm import InstrumentedAttribute, Session

from helan.api.deps import Meta, Paging, Reader, Writer
from helan.api.schemas.common import ObjectId, Page
from helan.api.schemas.products import (
    MAX_BULK,
    ProductCreate,
    ProductKind,
    ProductOut,
    ProductPatch,
    ProductsCreated,
)
from helan.core.errors import Conflict, HelanError, NotFound, ValidationFailed
from helan.ident.link.rules import claim_identifier, claim_identifiers
from helan.security.audit import audited
from helan.storage.meta.models import Device, Product
from helan.storage.meta.query import contains, order_by, page

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["products"])

SORT = {
    "id": Product.id,
    "name": Product.name,
    "kind": Product.kind,
    "produced_at": Product.produced_at,
    "created_at": Product.created_at,
    "updated_at": Product.updated_at,
}
# Ids per IN list in bulk checks (well under SQLite's 32,766 parameters).
_CHUNK = 5_000
# Per-item errors listed in a rejected bulk request; the message gives the full count.
_MAX_DETAILS = 1_000


def _out(row: Product) -> ProductOut:
    data: dict[str, Any] = {c.key: getattr(row, c.key) for c in sa.inspect(Product).column_attrs}
    return ProductOut.model_validate(data)


def _product(s: Session, tenant: str, product: str) -> Product:
    row = s.get(Product, (tenant, product))
    if row is None:
        raise NotFound(f"product {product!r} not found")
    return row


def _members(s: Session, tenant: str, batch: str) -> int:
    stmt = sa.select(sa.func.count()).where(Product.tenant_id == tenant, Product.batch_id == batch)
    return s.scalar(stmt) or 0


def _unknown_device(device: str) -> ValidationFailed:
    return ValidationFailed(f"unknown device {device!r} (made_by)", code="unknown_reference")


def _check_made_by(s: Session, tenant: str, device: str | None) -> None:
    if device is not None and s.get(Device, (tenant, device)) is None:
        raise _unknown_device(device)


def _batch_error(product: str, kind: str, batch: str, batch_kind: str | None) -> HelanError | None:
    """Why ``product`` (of ``kind``) cannot belong to ``batch`` (of ``batch_kind``, None when
    no such product exists), or None when it can."""
    if batch == product:
        return ValidationFailed(f"product {product!r} cannot be its own batch")
    if kind == "batch":
        return ValidationFailed(
            f"product {product!r} is a batch and cannot belong to batch {batch!r} "
            "(batches do not nest)"
        )
    if batch_kind is None:
        return ValidationFailed(f"unknown batch {batch!r}", code="unknown_reference")
    if batch_kind != "batch":
        return ValidationFailed(
            f"product {batch!r} is a {batch_kind}, not a batch", code="not_a_batch"
        )
    return None


def _check_batch(s: Session, tenant: str, product: str, kind: str, batch: str | None) -> None:
    if batch is None:
        return
    row = s.get(Product, (tenant, batch)) if batch != product else None
    error = _batch_error(product, kind, batch, None if row is None else row.kind)
    if error is not None:
        raise error


@router.get("/products")
def list_products(
    tenant: str,
    _: Reader,
    meta: Meta,
    paging: Annotated[Paging, Depends()],
    kind: ProductKind | None = None,
    batch: Annotated[ObjectId | None, Query(description="Members of this batch")] = None,
    made_by: Annotated[ObjectId | None, Query(description="Made by this device")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text in id or name")] = None,
) -> Page[ProductOut]:
    stmt = sa.select(Product).where(Product.tenant_id == tenant)
    if kind is not None:
        stmt = stmt.where(Product.kind == kind)
    if batch is not None:
        stmt = stmt.where(Product.batch_id == batch)
    if made_by is not None:
        stmt = stmt.where(Product.made_by_id == made_by)
    if q:
        stmt = stmt.where(sa.or_(contains(Product.id, q), contains(Product.name, q)))
    with meta.session() as s:
        rows, total = page(
            s,
            stmt,
            order=order_by(paging.sort, SORT, "id", [Product.id]),
            limit=paging.limit,
            offset=paging.offset,
        )
        items = [_out(r) for r in rows]
    return Page(items=items, total=total, limit=paging.limit, offset=paging.offset)


@router.post("/products", status_code=201)
def create_product(tenant: str, body: ProductCreate, principal: Writer, meta: Meta) -> ProductOut:
    """Without ``identifier``, a product of a tenant with an identifier prefix gets
    ``<prefix>/<product id>`` (409 when a device or product already holds it);
    ``"identifier": null`` opts out."""
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="product.create",
        object_type="product",
        object_id=body.id,
    ) as s:
        if s.get(Product, (tenant, body.id)) is not None:
            raise Conflict(f"product {body.id!r} already exists")
        _check_made_by(s, tenant, body.made_by)
        _check_batch(s, tenant, body.id, body.kind, body.batch)
        given = "identifier" in body.model_fields_set
        identifier = claim_identifier(s, tenant, "product", body.id, body.identifier, given=given)
        row = _row(tenant, body, identifier)
        s.add(row)
        s.flush()
        return _out(row)


def _row(tenant: str, body: ProductCreate, identifier: str | None) -> Product:
    return Product(
        tenant_id=tenant,
        id=body.id,
        name=body.name,
        model=body.model,
        kind=body.kind,
        batch_id=body.batch,
        made_by_id=body.made_by,
        produced_at=body.produced_at,
        identifier=identifier,
        attributes=body.attributes or {},
    )


def _chunks(values: Sequence[str]) -> Iterator[list[str]]:
    for n in range(0, len(values), _CHUNK):
        yield list(values[n : n + _CHUNK])


def _existing(
    s: Session, tenant: str, id_column: InstrumentedAttribute[str], ids: set[str], *extra: Any
) -> list[Any]:
    """Rows (id, *extra) of the tenant's ``ids`` that exist, a few thousand per query."""
    model = id_column.class_
    rows: list[Any] = []
    for chunk in _chunks(sorted(ids)):
        stmt = sa.select(id_column, *extra).where(model.tenant_id == tenant, id_column.in_(chunk))
        rows += s.execute(stmt).all()
    return rows


def _bulk_errors(
    s: Session, tenant: str, items: list[ProductCreate]
) -> tuple[list[str | None], list[tuple[int, str, HelanError]]]:
    """Every item checked as :func:`create_product` would, with set queries: the identifiers
    and the errors as (position, field, error)."""
    errors: list[tuple[int, str, HelanError]] = []
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        j = first.setdefault(item.id, i)
        if j != i:
            errors.append((i, "id", Conflict(f"product {item.id!r} is also item {j}")))
    ids = set(first)
    for (taken,) in _existing(s, tenant, Product.id, ids):
        errors.append((first[taken], "id", Conflict(f"product {taken!r} already exists")))
    devices = {item.made_by for item in items if item.made_by is not None}
    known = {d for (d,) in _existing(s, tenant, Device.id, devices)}
    for i, item in enumerate(items):
        if item.made_by is not None and item.made_by not in known:
            errors.append((i, "made_by", _unknown_device(item.made_by)))
    kinds = {item.id: item.kind for i, item in enumerate(items) if first[item.id] == i}
    outside = {item.batch for item in items if item.batch is not None} - kinds.keys()
    kinds |= dict(_existing(s, tenant, Product.id, outside, Product.kind))
    for i, item in enumerate(items):
        if item.batch is not None:
            error = _batch_error(item.id, item.kind, item.batch, kinds.get(item.batch))
            if error is not None:
                errors.append((i, "batch", error))
    wanted = [(item.id, item.identifier, "identifier" in item.model_fields_set) for item in items]
    identifiers, clashes = claim_identifiers(s, tenant, "product", wanted)
    errors += [(i, "identifier", error) for i, error in clashes.items()]
    return identifiers, sorted(errors, key=lambda e: e[0])


def _rejected(items: list[ProductCreate], errors: list[tuple[int, str, HelanError]]) -> HelanError:
    i, where, error = errors[0]
    message = (
        f"{len(errors)} error(s) in {len(items)} products, none created; first: item {i} "
        f"({items[i].id!r}) {where}: {error.message}"
    )
    details = [
        {"loc": ["body", i, where], "message": e.message, "type": e.code}
        for i, where, e in errors[:_MAX_DETAILS]
    ]
    if all(isinstance(e, Conflict) for _, _, e in errors):
        return Conflict(message, details=details)
    return ValidationFailed(message, details=details)


@router.post("/products:bulk", status_code=201, responses={409: {}, 422: {}})
def create_products(
    tenant: str,
    body: Annotated[list[ProductCreate], Body(min_length=1, max_length=MAX_BULK)],
    principal: Writer,
    meta: Meta,
) -> ProductsCreated:
    """Create up to 10,000 products at once, all or none. Items may name batches created by
    the same request. A rejected request answers 422 (409 when every problem is a conflict)
    with ``error.details``: one ``{"loc": ["body", <item>, <field>], "message", "type"}`` per
    problem, in the shape of request validation errors."""
    detail: dict[str, Any] = {"count": len(body)}
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="product.bulk_create",
        object_type="product",
        object_id=f"{body[0].id}..{body[-1].id}" if body else None,
        detail=detail,
    ) as s:
        identifiers, errors = _bulk_errors(s, tenant, body)
        if errors:
            raise _rejected(body, errors)
        # Batches first: their members' foreign key needs them inserted before.
        order = sorted(range(len(body)), key=lambda i: body[i].kind != "batch")
        rows = [_row(tenant, body[i], identifiers[i]) for i in order]
        s.add_all(rows)
        s.flush()
        by_id = {row.id: row for row in rows}
        items = [_out(by_id[item.id]) for item in body]
    return ProductsCreated(created=len(items), items=items)


@router.get("/products/{product}")
def get_product(tenant: str, product: str, _: Reader, meta: Meta) -> ProductOut:
    with meta.session() as s:
        return _out(_product(s, tenant, product))


@router.patch("/products/{product}")
def patch_product(
    tenant: str, product: str, body: ProductPatch, principal: Writer, meta: Meta
) -> ProductOut:
    """Fields given replace stored ones; ``null`` clears an optional field (``identifier``:
    removes the product's identifier record). A batch with members keeps its kind (409)."""
    changes = body.model_dump(exclude_unset=True)
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="product.update",
        object_type="product",
        object_id=product,
    ) as s:
        row = _product(s, tenant, product)
        kind = changes.get("kind", row.kind)
        if row.kind == "batch" and kind != "batch" and (n := _members(s, tenant, product)):
            raise Conflict(f"batch {product!r} has {n} member(s) and stays a batch")
        if "batch" in changes or "kind" in changes:
            _check_batch(s, tenant, product, kind, changes.get("batch", row.batch_id))
        if "made_by" in changes:
            _check_made_by(s, tenant, changes["made_by"])
        if "identifier" in changes:
            changes["identifier"] = claim_identifier(
                s, tenant, "product", product, changes["identifier"], given=True
            )
        if "batch" in changes:
            row.batch_id = changes.pop("batch")
        if "made_by" in changes:
            row.made_by_id = changes.pop("made_by")
        for key, value in changes.items():
            setattr(row, key, {} if key == "attributes" and value is None else value)
        s.flush()
        return _out(row)


@router.delete("/products/{product}", status_code=204)
def delete_product(tenant: str, product: str, principal: Writer, meta: Meta) -> Response:
    """Its identifier stops resolving (HANDLE_NOT_FOUND). A batch that still has members is
    refused (409): move or delete those first."""
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="product.delete",
        object_type="product",
        object_id=product,
    ) as s:
        row = _product(s, tenant, product)
        if (n := _members(s, tenant, product)) > 0:
            raise Conflict(f"batch {product!r} still has {n} member(s)")
        s.delete(row)
    return Response(status_code=204)
