"""Thing models: what a kind of device reports (properties), raises (events) and accepts
(services). Ingest validates every point against the properties of its device's type."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.orm import Session

from helan.api.deps import Meta, Paging, Reader, Writer
from helan.api.schemas.common import Page
from helan.api.schemas.things import DeviceTypeCreate, DeviceTypeOut, DeviceTypePatch
from helan.core.errors import Conflict, NotFound
from helan.security.audit import audited
from helan.storage.meta.models import Device, DeviceType
from helan.storage.meta.query import contains, order_by, page

router = APIRouter(prefix="/api/v1/tenants/{tenant}/device-types", tags=["device-types"])

SORT = {
    "id": DeviceType.id,
    "name": DeviceType.name,
    "created_at": DeviceType.created_at,
    "updated_at": DeviceType.updated_at,
}
MODEL_PARTS = ("properties", "events", "services")


def _type(s: Session, tenant: str, type_id: str) -> DeviceType:
    row = s.get(DeviceType, (tenant, type_id))
    if row is None:
        raise NotFound(f"device type {type_id!r} not found")
    return row


def _model_parts(body: DeviceTypeCreate | DeviceTypePatch) -> dict[str, Any]:
    return body.model_dump(include=set(MODEL_PARTS), exclude_unset=True, exclude_none=True)


@router.get("")
def list_device_types(
    tenant: str,
    _: Reader,
    meta: Meta,
    paging: Annotated[Paging, Depends()],
    q: Annotated[str | None, Query(max_length=200, description="Text in id or name")] = None,
) -> Page[DeviceTypeOut]:
    stmt = sa.select(DeviceType).where(DeviceType.tenant_id == tenant)
    if q:
        stmt = stmt.where(sa.or_(contains(DeviceType.id, q), contains(DeviceType.name, q)))
    with meta.session() as s:
        rows, total = page(
            s,
            stmt,
            order=order_by(paging.sort, SORT, "id", [DeviceType.id]),
            limit=paging.limit,
            offset=paging.offset,
        )
        items = [DeviceTypeOut.model_validate(r) for r in rows]
    return Page(items=items, total=total, limit=paging.limit, offset=paging.offset)


@router.post("", status_code=201)
def create_device_type(
    tenant: str, body: DeviceTypeCreate, principal: Writer, meta: Meta
) -> DeviceTypeOut:
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="device_type.create",
        object_type="device_type",
        object_id=body.id,
    ) as s:
        if s.get(DeviceType, (tenant, body.id)) is not None:
            raise Conflict(f"device type {body.id!r} already exists")
        row = DeviceType(
            tenant_id=tenant,
            id=body.id,
            name=body.name,
            description=body.description,
            **_model_parts(body),
        )
        s.add(row)
        s.flush()
        return DeviceTypeOut.model_validate(row)


@router.get("/{type_id}")
def get_device_type(tenant: str, type_id: str, _: Reader, meta: Meta) -> DeviceTypeOut:
    with meta.session() as s:
        return DeviceTypeOut.model_validate(_type(s, tenant, type_id))


@router.patch("/{type_id}")
def patch_device_type(
    tenant: str, type_id: str, body: DeviceTypePatch, principal: Writer, meta: Meta
) -> DeviceTypeOut:
    """A list given (``properties``, ``events``, ``services``) replaces the stored one whole;
    devices of this type are validated against the new model from the next message on."""
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="device_type.update",
        object_type="device_type",
        object_id=type_id,
    ) as s:
        row = _type(s, tenant, type_id)
        for key, value in _model_parts(body).items():
            setattr(row, key, value)
        if body.name is not None:
            row.name = body.name
        if "description" in body.model_fields_set:
            row.description = body.description
        s.flush()
        return DeviceTypeOut.model_validate(row)


@router.delete("/{type_id}", status_code=204)
def delete_device_type(tenant: str, type_id: str, principal: Writer, meta: Meta) -> Response:
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="device_type.delete",
        object_type="device_type",
        object_id=type_id,
    ) as s:
        row = _type(s, tenant, type_id)
        used = s.scalar(
            sa.select(sa.func.count())
            .select_from(Device)
            .where(Device.tenant_id == tenant, Device.device_type_id == type_id)
        )
        if used:
            raise Conflict(f"device type {type_id!r} is used by {used} device(s)")
        s.delete(row)
    return Response(status_code=204)
