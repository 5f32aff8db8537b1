"""Devices: attributes, thing model, place in the asset tree, and the credential they connect
with (username ``<device>@<tenant>``, a random secret shown once and stored as SHA-256 for the
platform's checks and as Mosquitto's ``$7$`` hash for an external broker's password file).

A device may name a ``gateway``: another device of its tenant whose credential publishes and
takes commands for it (an edge gateway reading several PLCs). One level only: a gateway has
no gateway itself, so whose credential speaks for a device is never more than one hop away."""

from __future__ import annotations

from typing import Annotated, Any, cast

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Response

from helan.api.deps import Meta, Paging, Reader, Writer
from helan.api.schemas.common import Page
from helan.api.schemas.things import (
    DeviceCreate,
    DeviceCreated,
    DeviceCredential,
    DeviceOut,
    DevicePatch,
)
from helan.services import devices as service
from helan.services.fields import AUTO
from helan.storage.meta.models import Device

router = APIRouter(prefix="/api/v1/tenants/{tenant}/devices", tags=["devices"])


def _out(row: Device) -> DeviceOut:
    data: dict[str, Any] = {c.key: getattr(row, c.key) for c in sa.inspect(Device).column_attrs}
    return DeviceOut.model_validate(
        data | {"username": service.username(row), "broker_credential": row.broker_hash is not None}
    )


@router.get("")
def list_devices(
    tenant: str,
    _: Reader,
    meta: Meta,
    paging: Annotated[Paging, Depends()],
    device_type: Annotated[str | None, Query(max_length=64)] = None,
    asset: Annotated[str | None, Query(max_length=64, description="Attached to this node")] = None,
    gateway: Annotated[
        str | None, Query(max_length=64, description="Connecting through this device")
    ] = None,
    enabled: bool | None = None,
    q: Annotated[str | None, Query(max_length=200, description="Text in id or name")] = None,
) -> Page[DeviceOut]:
    found = service.list_devices(
        meta,
        tenant,
        paging,
        device_type=device_type,
        asset=asset,
        gateway=gateway,
        enabled=enabled,
        q=q,
    )
    items = [_out(r) for r in found.rows]
    return Page(items=items, total=found.total, limit=paging.limit, offset=paging.offset)


@router.post("", status_code=201)
def create_device(tenant: str, body: DeviceCreate, principal: Writer, meta: Meta) -> DeviceCreated:
    """The response carries the device's password; it is never shown again (rotate to replace).

    Without ``identifier``, a device of a tenant with an identifier prefix gets
    ``<prefix>/<device id>``; ``"identifier": null`` opts out."""
    fields = body.model_dump(exclude={"identifier", "attributes"})
    new = service.NewDevice(
        **fields,
        identifier=body.identifier if "identifier" in body.model_fields_set else AUTO,
        attributes=body.attributes or {},
    )
    created = service.create_device(meta, principal, tenant, new)
    out = _out(created.device)
    return DeviceCreated(**out.model_dump(), password=created.credential.password)


@router.get("/{device}")
def get_device(tenant: str, device: str, _: Reader, meta: Meta) -> DeviceOut:
    return _out(service.get_device(meta, tenant, device))


@router.patch("/{device}")
def patch_device(
    tenant: str, device: str, body: DevicePatch, principal: Writer, meta: Meta
) -> DeviceOut:
    """Fields given replace stored ones; ``null`` clears an optional field."""
    changes = cast(service.DeviceChanges, body.model_dump(exclude_unset=True))
    return _out(service.update_device(meta, principal, tenant, device, changes))


@router.delete("/{device}", status_code=204)
def delete_device(tenant: str, device: str, principal: Writer, meta: Meta) -> Response:
    """The device's credential stops working at once; its stored telemetry is kept. A gateway
    that devices still connect through is refused (409): move or delete those first; so is a
    device that products name as their maker (``made_by``: traceability would lose it)."""
    service.delete_device(meta, principal, tenant, device)
    return Response(status_code=204)


@router.post("/{device}/credentials")
def rotate_credential(tenant: str, device: str, principal: Writer, meta: Meta) -> DeviceCredential:
    """Replace the device's secret; the old one stops working at once (on Mosquitto, once the
    password file is rewritten and reloaded: within a second when the platform manages it).
    Also how a device created before Mosquitto hashes were stored gets one."""
    credential = service.rotate_credential(meta, principal, tenant, device)
    return DeviceCredential(username=credential.username, password=credential.password)
