"""Thing models: what a kind of device reports (properties), raises (events) and accepts
(services). Ingest validates every point against the properties of its device's type."""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Query, Response

from helan.api.deps import Meta, Paging, Reader, Writer
from helan.api.schemas.common import Page
from helan.api.schemas.things import DeviceTypeCreate, DeviceTypeOut, DeviceTypePatch
from helan.services import device_types as service

router = APIRouter(prefix="/api/v1/tenants/{tenant}/device-types", tags=["device-types"])


def _model_parts(body: DeviceTypeCreate | DeviceTypePatch) -> dict[str, Any]:
    """The parts given, as stored: fields left out or null inside a spec are not written."""
    return body.model_dump(include=set(service.MODEL_PARTS), exclude_unset=True, exclude_none=True)


@router.get("")
def list_device_types(
    tenant: str,
    _: Reader,
    meta: Meta,
    paging: Annotated[Paging, Depends()],
    q: Annotated[str | None, Query(max_length=200, description="Text in id or name")] = None,
) -> Page[DeviceTypeOut]:
    found = service.list_device_types(meta, tenant, paging, q=q)
    items = [DeviceTypeOut.model_validate(r) for r in found.rows]
    return Page(items=items, total=found.total, limit=paging.limit, offset=paging.offset)


@router.post("", status_code=201)
def create_device_type(
    tenant: str, body: DeviceTypeCreate, principal: Writer, meta: Meta
) -> DeviceTypeOut:
    new = service.NewDeviceType(
        id=body.id, name=body.name, description=body.description, **_model_parts(body)
    )
    return DeviceTypeOut.model_validate(service.create_device_type(meta, principal, tenant, new))


@router.get("/{type_id}")
def get_device_type(tenant: str, type_id: str, _: Reader, meta: Meta) -> DeviceTypeOut:
    return DeviceTypeOut.model_validate(service.get_device_type(meta, tenant, type_id))


@router.patch("/{type_id}")
def patch_device_type(
    tenant: str, type_id: str, body: DeviceTypePatch, principal: Writer, meta: Meta
) -> DeviceTypeOut:
    """A list given (``properties``, ``events``, ``services``) replaces the stored one whole;
    devices of this type are validated against the new model from the next message on."""
    fields = body.model_dump(include={"name", "description"}, exclude_unset=True)
    changes = cast(service.DeviceTypeChanges, fields | _model_parts(body))
    row = service.update_device_type(meta, principal, tenant, type_id, changes)
    return DeviceTypeOut.model_validate(row)


@router.delete("/{type_id}", status_code=204)
def delete_device_type(tenant: str, type_id: str, principal: Writer, meta: Meta) -> Response:
    service.delete_device_type(meta, principal, tenant, type_id)
    return Response(status_code=204)
