"""Products: the units, batches and parts a tenant produced, for traceability. Each may name
the device that made it (``made_by``) and the batch it belongs to (``batch``: a product of kind
``batch``; batches do not nest), and gets an identifier under the tenant's prefix like a device
does, from the same namespace: a product never takes a device's identifier, or the reverse.

``POST .../products:bulk`` creates up to 10,000 at once: every item is checked before any is
written, one bad item rejects the request with an error per item, and all are written in one
transaction, so their identifier records are written in one sync too."""

from __future__ import annotations

from typing import Annotated, Any, cast

import sqlalchemy as sa
from fastapi import APIRouter, Body, Depends, Query, Response

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
from helan.services import products as service
from helan.services.fields import AUTO
from helan.storage.meta.models import Product

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["products"])


def _out(row: Product) -> ProductOut:
    data: dict[str, Any] = {c.key: getattr(row, c.key) for c in sa.inspect(Product).column_attrs}
    return ProductOut.model_validate(data)


def _new(body: ProductCreate) -> service.NewProduct:
    return service.NewProduct(
        **body.model_dump(exclude={"identifier", "attributes"}),
        identifier=body.identifier if "identifier" in body.model_fields_set else AUTO,
        attributes=body.attributes or {},
    )


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
    found = service.list_products(
        meta, tenant, paging, kind=kind, batch=batch, made_by=made_by, q=q
    )
    items = [_out(r) for r in found.rows]
    return Page(items=items, total=found.total, limit=paging.limit, offset=paging.offset)


@router.post("/products", status_code=201)
def create_product(tenant: str, body: ProductCreate, principal: Writer, meta: Meta) -> ProductOut:
    """Without ``identifier``, a product of a tenant with an identifier prefix gets
    ``<prefix>/<product id>`` (409 when a device or product already holds it);
    ``"identifier": null`` opts out."""
    return _out(service.create_product(meta, principal, tenant, _new(body)))


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
    rows = service.create_products(meta, principal, tenant, [_new(item) for item in body])
    return ProductsCreated(created=len(rows), items=[_out(row) for row in rows])


@router.get("/products/{product}")
def get_product(tenant: str, product: str, _: Reader, meta: Meta) -> ProductOut:
    return _out(service.get_product(meta, tenant, product))


@router.patch("/products/{product}")
def patch_product(
    tenant: str, product: str, body: ProductPatch, principal: Writer, meta: Meta
) -> ProductOut:
    """Fields given replace stored ones; ``null`` clears an optional field (``identifier``:
    removes the product's identifier record). A batch with members keeps its kind (409)."""
    changes = cast(service.ProductChanges, body.model_dump(exclude_unset=True))
    return _out(service.update_product(meta, principal, tenant, product, changes))


@router.delete("/products/{product}", status_code=204)
def delete_product(tenant: str, product: str, principal: Writer, meta: Meta) -> Response:
    """Its identifier stops resolving (HANDLE_NOT_FOUND). A batch that still has members is
    refused (409): move or delete those first."""
    service.delete_product(meta, principal, tenant, product)
    return Response(status_code=204)
