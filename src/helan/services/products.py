"""Products: the units, batches and parts a tenant produced, for traceability. Each may name
the device that made it (``made_by``) and the batch it belongs to (``batch``: a product of kind
``batch``; batches do not nest), and gets an identifier under the tenant's prefix like a device
does, from the same namespace: a product never takes a device's identifier, or the reverse.

:func:`create_products` creates many at once: every item is checked before any is written, one
bad item rejects them all with an error per item, and all are written in one transaction, so
their identifier records are written in one sync too."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypedDict

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

from helan.core import ids
from helan.core.errors import Conflict, HelanError, NotFound, ValidationFailed
from helan.ident.link.rules import claim_identifier, claim_identifiers
from helan.security.audit import audited
from helan.security.principal import Principal
from helan.services.fields import AUTO, Attributes, Auto
from helan.services.fields import name as check_name
from helan.services.paging import Listing, PageRequest, listing
from helan.storage.meta import MetaStore
from helan.storage.meta.models import Device, Product
from helan.storage.meta.query import contains

ProductKind = Literal["unit", "batch", "part"]
KINDS: frozenset[str] = frozenset({"unit", "batch", "part"})
MAX_BULK = 10_000
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


@dataclass(frozen=True, slots=True, kw_only=True)
class NewProduct:
    id: str
    name: str
    kind: ProductKind = "unit"
    model: str | None = None
    batch: str | None = None
    made_by: str | None = None
    produced_at: datetime | None = None
    identifier: str | Literal[Auto.AUTO] | None = AUTO
    attributes: Attributes = field(default_factory=dict)


class ProductChanges(TypedDict, total=False):
    """The fields to change; a key left out keeps its value; None clears an optional field
    (``identifier``: removes the product's identifier record; ``attributes``: to empty)."""

    name: str
    kind: ProductKind
    model: str | None
    batch: str | None
    made_by: str | None
    produced_at: datetime | None
    identifier: str | None
    attributes: Attributes | None


def _kind(value: str) -> str:
    if value not in KINDS:
        raise ValidationFailed(f"kind must be one of {', '.join(sorted(KINDS))}, not {value!r}")
    return value


def _utc(value: datetime | None) -> datetime | None:
    """Stored in UTC whatever offset was given, so the answer and the identifier record (read
    back from the database) say the same."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValidationFailed("produced_at needs a UTC offset (e.g. 2030-01-01T00:00:00Z)")
    return value.astimezone(UTC)


def _checked(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` with the set values checked (the API's schema checks them too)."""
    out = dict(fields)
    if "id" in out:
        ids.device_id(out["id"])
    if out.get("name") is not None:
        check_name(out["name"])
    if "name" in out and out["name"] is None:
        raise ValidationFailed("name may be changed but not cleared (null)")
    if "kind" in out:
        if out["kind"] is None:
            raise ValidationFailed("kind may be changed but not cleared (null)")
        _kind(out["kind"])
    if "produced_at" in out:
        out["produced_at"] = _utc(out["produced_at"])
    return out


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


def list_products(
    meta: MetaStore,
    tenant: str,
    paging: PageRequest,
    *,
    kind: str | None = None,
    batch: str | None = None,
    made_by: str | None = None,
    q: str | None = None,
) -> Listing[Product]:
    """``batch``: members of this batch; ``made_by``: made by this device; ``q``: text in the
    id or name."""
    stmt = sa.select(Product).where(Product.tenant_id == tenant)
    if kind is not None:
        stmt = stmt.where(Product.kind == kind)
    if batch is not None:
        stmt = stmt.where(Product.batch_id == batch)
    if made_by is not None:
        stmt = stmt.where(Product.made_by_id == made_by)
    if q:
        stmt = stmt.where(sa.or_(contains(Product.id, q), contains(Product.name, q)))
    return listing(meta, stmt, paging, sort=SORT, default="id", tiebreak=[Product.id])


def _row(tenant: str, new: NewProduct, identifier: str | None) -> Product:
    return Product(
        tenant_id=tenant,
        id=new.id,
        name=new.name,
        model=new.model,
        kind=new.kind,
        batch_id=new.batch,
        made_by_id=new.made_by,
        produced_at=_utc(new.produced_at),
        identifier=identifier,
        attributes=dict(new.attributes),
    )


def create_product(meta: MetaStore, principal: Principal, tenant: str, new: NewProduct) -> Product:
    """Conflict when a device or product already holds the identifier it would get."""
    ids.device_id(new.id)
    check_name(new.name)
    _kind(new.kind)
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="product.create",
        object_type="product",
        object_id=new.id,
    ) as s:
        if s.get(Product, (tenant, new.id)) is not None:
            raise Conflict(f"product {new.id!r} already exists")
        _check_made_by(s, tenant, new.made_by)
        _check_batch(s, tenant, new.id, new.kind, new.batch)
        given = new.identifier is not AUTO
        wanted = None if new.identifier is AUTO else new.identifier
        identifier = claim_identifier(s, tenant, "product", new.id, wanted, given=given)
        row = _row(tenant, new, identifier)
        s.add(row)
        s.flush()
        return row


def _chunks(values: Sequence[str]) -> Iterator[list[str]]:
    for n in range(0, len(values), _CHUNK):
        yield list(values[n : n + _CHUNK])


def _existing(
    s: Session, tenant: str, id_column: InstrumentedAttribute[str], wanted: set[str], *extra: Any
) -> list[Any]:
    """Rows (id, *extra) of the tenant's ``wanted`` ids that exist, a few thousand per query."""
    model = id_column.class_
    rows: list[Any] = []
    for chunk in _chunks(sorted(wanted)):
        stmt = sa.select(id_column, *extra).where(model.tenant_id == tenant, id_column.in_(chunk))
        rows += s.execute(stmt).all()
    return rows


def _bulk_errors(
    s: Session, tenant: str, items: Sequence[NewProduct]
) -> tuple[list[str | None], list[tuple[int, str, HelanError]]]:
    """Every item checked as :func:`create_product` would, with set queries: the identifiers
    and the errors as (position, field, error)."""
    errors: list[tuple[int, str, HelanError]] = []
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        j = first.setdefault(item.id, i)
        if j != i:
            errors.append((i, "id", Conflict(f"product {item.id!r} is also item {j}")))
    item_ids = set(first)
    for (taken,) in _existing(s, tenant, Product.id, item_ids):
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
    wanted = [
        (item.id, None if item.identifier is AUTO else item.identifier, item.identifier is not AUTO)
        for item in items
    ]
    identifiers, clashes = claim_identifiers(s, tenant, "product", wanted)
    errors += [(i, "identifier", error) for i, error in clashes.items()]
    return identifiers, sorted(errors, key=lambda e: e[0])


def _rejected(items: Sequence[NewProduct], errors: list[tuple[int, str, HelanError]]) -> HelanError:
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


def create_products(
    meta: MetaStore, principal: Principal, tenant: str, items: Sequence[NewProduct]
) -> list[Product]:
    """Create 1 to 10,000 products, all or none, in the order given. Items may name batches
    created with them. A rejection is ValidationFailed (Conflict when every problem is a
    conflict) whose ``details`` hold one ``{"loc": ["body", <item>, <field>], "message",
    "type"}`` per problem, in the shape of the API's request validation errors."""
    if not 1 <= len(items) <= MAX_BULK:
        raise ValidationFailed(f"give 1 to {MAX_BULK} products, not {len(items)}")
    for item in items:
        ids.device_id(item.id)
        check_name(item.name)
        _kind(item.kind)
    detail: dict[str, Any] = {"count": len(items)}
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="product.bulk_create",
        object_type="product",
        object_id=f"{items[0].id}..{items[-1].id}",
        detail=detail,
    ) as s:
        identifiers, errors = _bulk_errors(s, tenant, items)
        if errors:
            raise _rejected(items, errors)
        # Batches first: their members' foreign key needs them inserted before.
        order = sorted(range(len(items)), key=lambda i: items[i].kind != "batch")
        rows = [_row(tenant, items[i], identifiers[i]) for i in order]
        s.add_all(rows)
        s.flush()
        by_id = {row.id: row for row in rows}
        return [by_id[item.id] for item in items]


def get_product(meta: MetaStore, tenant: str, product: str) -> Product:
    with meta.session() as s:
        return _product(s, tenant, product)


def update_product(
    meta: MetaStore, principal: Principal, tenant: str, product: str, changes: ProductChanges
) -> Product:
    """A batch with members keeps its kind (Conflict)."""
    fields = _checked(changes)
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="product.update",
        object_type="product",
        object_id=product,
    ) as s:
        row = _product(s, tenant, product)
        kind = fields.get("kind", row.kind)
        if row.kind == "batch" and kind != "batch" and (n := _members(s, tenant, product)):
            raise Conflict(f"batch {product!r} has {n} member(s) and stays a batch")
        if "batch" in fields or "kind" in fields:
            _check_batch(s, tenant, product, kind, fields.get("batch", row.batch_id))
        if "made_by" in fields:
            _check_made_by(s, tenant, fields["made_by"])
        if "identifier" in fields:
            fields["identifier"] = claim_identifier(
                s, tenant, "product", product, fields["identifier"], given=True
            )
        if "batch" in fields:
            row.batch_id = fields.pop("batch")
        if "made_by" in fields:
            row.made_by_id = fields.pop("made_by")
        for key, value in fields.items():
            setattr(row, key, {} if key == "attributes" and value is None else value)
        s.flush()
        return row


def delete_product(meta: MetaStore, principal: Principal, tenant: str, product: str) -> None:
    """Its identifier stops resolving. Refused (Conflict) for a batch that still has members."""
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
