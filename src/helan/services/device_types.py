"""Device types (thing models): what a kind of device reports (properties), raises (events)
and accepts (services). Ingest checks every point against its device type's properties, and
commands against its services.

The parts are lists of JSON objects in the shape of the API's ``PropertySpec``, ``EventSpec``
and ``ServiceSpec``; callers hand them over already checked against those shapes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

import sqlalchemy as sa
from sqlalchemy.orm import Session

from helan.core import ids
from helan.core.errors import Conflict, NotFound
from helan.security.audit import audited
from helan.security.principal import Principal
from helan.services.fields import name as check_name
from helan.services.paging import Listing, PageRequest, listing
from helan.storage.meta import MetaStore
from helan.storage.meta.models import Device, DeviceType
from helan.storage.meta.query import contains

SORT = {
    "id": DeviceType.id,
    "name": DeviceType.name,
    "created_at": DeviceType.created_at,
    "updated_at": DeviceType.updated_at,
}
MODEL_PARTS = ("properties", "events", "services")
Part = list[dict[str, Any]]


@dataclass(frozen=True, slots=True, kw_only=True)
class NewDeviceType:
    """A part left None starts empty."""

    id: str
    name: str
    description: str | None = None
    properties: Part | None = None
    events: Part | None = None
    services: Part | None = None


class DeviceTypeChanges(TypedDict, total=False):
    """The fields to change; a key left out (or None, except ``description``) keeps its value.
    A part given replaces the stored one whole."""

    name: str | None
    description: str | None
    properties: Part | None
    events: Part | None
    services: Part | None


def _type(s: Session, tenant: str, type_id: str) -> DeviceType:
    row = s.get(DeviceType, (tenant, type_id))
    if row is None:
        raise NotFound(f"device type {type_id!r} not found")
    return row


def list_device_types(
    meta: MetaStore, tenant: str, paging: PageRequest, *, q: str | None = None
) -> Listing[DeviceType]:
    """``q``: text in the id or name."""
    stmt = sa.select(DeviceType).where(DeviceType.tenant_id == tenant)
    if q:
        stmt = stmt.where(sa.or_(contains(DeviceType.id, q), contains(DeviceType.name, q)))
    return listing(meta, stmt, paging, sort=SORT, default="id", tiebreak=[DeviceType.id])


def create_device_type(
    meta: MetaStore, principal: Principal, tenant: str, new: NewDeviceType
) -> DeviceType:
    ids.device_id(new.id)
    check_name(new.name)
    parts = {key: getattr(new, key) for key in MODEL_PARTS if getattr(new, key) is not None}
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="device_type.create",
        object_type="device_type",
        object_id=new.id,
    ) as s:
        if s.get(DeviceType, (tenant, new.id)) is not None:
            raise Conflict(f"device type {new.id!r} already exists")
        row = DeviceType(
            tenant_id=tenant, id=new.id, name=new.name, description=new.description, **parts
        )
        s.add(row)
        s.flush()
        return row


def get_device_type(meta: MetaStore, tenant: str, type_id: str) -> DeviceType:
    with meta.session() as s:
        return _type(s, tenant, type_id)


def update_device_type(
    meta: MetaStore,
    principal: Principal,
    tenant: str,
    type_id: str,
    changes: DeviceTypeChanges,
) -> DeviceType:
    """Devices of this type are checked against the new model from their next message on."""
    name = changes.get("name")
    if name is not None:
        check_name(name)
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="device_type.update",
        object_type="device_type",
        object_id=type_id,
    ) as s:
        row = _type(s, tenant, type_id)
        for key in MODEL_PARTS:
            if (part := changes.get(key)) is not None:
                setattr(row, key, part)
        if name is not None:
            row.name = name
        if "description" in changes:
            row.description = changes["description"]
        s.flush()
        return row


def delete_device_type(meta: MetaStore, principal: Principal, tenant: str, type_id: str) -> None:
    """Refused (Conflict) while devices are of this type."""
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
