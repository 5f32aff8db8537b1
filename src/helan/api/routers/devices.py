"""Devices: attributes, thing model, place in the asset tree, and the credential they connect
with (username ``<device>@<tenant>``, a random secret shown once and stored as SHA-256 for the
platform's checks and as Mosquitto's ``$7$`` hash for an external broker's password file).

A device may name a ``gateway``: another device of its tenant whose credential publishes and
takes commands for it (an edge gateway reading several PLCs). One level only: a gateway has
no gateway itself, so whose credential speaks for a device is never more than one hop away."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.orm import Session

from helan.api.deps import Meta, Paging, Reader, Writer
from helan.api.schemas.common import Page
from helan.api.schemas.things import (
    DeviceCreate,
    DeviceCreated,
    DeviceCredential,
    DeviceOut,
    DevicePatch,
)
from helan.connect.mqtt.mosquitto_auth import password_hash
from helan.core.errors import Conflict, NotFound, ValidationFailed
from helan.ident.link.rules import device_identifier
from helan.security.audit import audited
from helan.storage.meta.directory import device_username, new_device_secret
from helan.storage.meta.models import Asset, Device, DeviceType, Product
from helan.storage.meta.query import contains, order_by, page

router = APIRouter(prefix="/api/v1/tenants/{tenant}/devices", tags=["devices"])

SORT = {
    "id": Device.id,
    "name": Device.name,
    "device_type": Device.device_type_id,
    "created_at": Device.created_at,
    "updated_at": Device.updated_at,
}


def _out(row: Device) -> DeviceOut:
    data: dict[str, Any] = {c.key: getattr(row, c.key) for c in sa.inspect(Device).column_attrs}
    return DeviceOut.model_validate(
        data
        | {
            "username": device_username(row.tenant_id, row.id),
            "broker_credential": row.broker_hash is not None,
        }
    )


def _issue_secret() -> tuple[str, str, str]:
    """A new secret, its SHA-256 digest and its Mosquitto hash: both hashes are made now, the
    only moment the plaintext exists."""
    secret, digest = new_device_secret()
    return secret, digest, password_hash(secret)


def _device(s: Session, tenant: str, device: str) -> Device:
    row = s.get(Device, (tenant, device))
    if row is None:
        raise NotFound(f"device {device!r} not found")
    return row


def _check_refs(s: Session, tenant: str, device_type: str | None, asset: str | None) -> None:
    if device_type is not None and s.get(DeviceType, (tenant, device_type)) is None:
        raise ValidationFailed(f"unknown device type {device_type!r}", code="unknown_reference")
    if asset is not None and s.get(Asset, (tenant, asset)) is None:
        raise ValidationFailed(f"unknown asset {asset!r}", code="unknown_reference")


def _children(s: Session, tenant: str, device: str) -> int:
    stmt = sa.select(sa.func.count()).where(Device.tenant_id == tenant, Device.gateway_id == device)
    return s.scalar(stmt) or 0


def _check_gateway(s: Session, tenant: str, device: str, gateway: str | None) -> None:
    if gateway is None:
        return
    if gateway == device:
        raise ValidationFailed(f"device {device!r} cannot be its own gateway")
    row = s.get(Device, (tenant, gateway))
    if row is None:
        raise ValidationFailed(f"unknown gateway device {gateway!r}", code="unknown_reference")
    if row.gateway_id is not None:
        raise ValidationFailed(
            f"device {gateway!r} connects through gateway {row.gateway_id!r} and cannot be "
            "a gateway itself (one level only)"
        )
    if (n := _children(s, tenant, device)) > 0:
        raise ValidationFailed(
            f"device {device!r} is the gateway of {n} device(s) and cannot have a gateway itself"
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
    stmt = sa.select(Device).where(Device.tenant_id == tenant)
    if device_type is not None:
        stmt = stmt.where(Device.device_type_id == device_type)
    if asset is not None:
        stmt = stmt.where(Device.asset_id == asset)
    if gateway is not None:
        stmt = stmt.where(Device.gateway_id == gateway)
    if enabled is not None:
        stmt = stmt.where(Device.enabled == enabled)
    if q:
        stmt = stmt.where(sa.or_(contains(Device.id, q), contains(Device.name, q)))
    with meta.session() as s:
        rows, total = page(
            s,
            stmt,
            order=order_by(paging.sort, SORT, "id", [Device.id]),
            limit=paging.limit,
            offset=paging.offset,
        )
        items = [_out(r) for r in rows]
    return Page(items=items, total=total, limit=paging.limit, offset=paging.offset)


@router.post("", status_code=201)
def create_device(tenant: str, body: DeviceCreate, principal: Writer, meta: Meta) -> DeviceCreated:
    """The response carries the device's password; it is never shown again (rotate to replace).

    Without ``identifier``, a device of a tenant with an identifier prefix gets
    ``<prefix>/<device id>``; ``"identifier": null`` opts out."""
    secret, digest, broker_hash = _issue_secret()
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="device.create",
        object_type="device",
        object_id=body.id,
    ) as s:
        if s.get(Device, (tenant, body.id)) is not None:
            raise Conflict(f"device {body.id!r} already exists")
        _check_refs(s, tenant, body.device_type, body.asset)
        _check_gateway(s, tenant, body.id, body.gateway)
        fields = body.model_dump(exclude={"device_type", "asset", "gateway", "attributes"})
        fields["identifier"] = device_identifier(
            s, tenant, body.id, body.identifier, given="identifier" in body.model_fields_set
        )
        row = Device(
            tenant_id=tenant,
            device_type_id=body.device_type,
            asset_id=body.asset,
            gateway_id=body.gateway,
            attributes=body.attributes or {},
            credential_hash=digest,
            broker_hash=broker_hash,
            **fields,
        )
        s.add(row)
        s.flush()
        out = _out(row)
    return DeviceCreated(**out.model_dump(), password=secret)


@router.get("/{device}")
def get_device(tenant: str, device: str, _: Reader, meta: Meta) -> DeviceOut:
    with meta.session() as s:
        return _out(_device(s, tenant, device))


@router.patch("/{device}")
def patch_device(
    tenant: str, device: str, body: DevicePatch, principal: Writer, meta: Meta
) -> DeviceOut:
    """Fields given replace stored ones; ``null`` clears an optional field."""
    changes = body.model_dump(exclude_unset=True)
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="device.update",
        object_type="device",
        object_id=device,
    ) as s:
        row = _device(s, tenant, device)
        _check_refs(s, tenant, changes.get("device_type"), changes.get("asset"))
        if "identifier" in changes:
            changes["identifier"] = device_identifier(
                s, tenant, device, changes["identifier"], given=True
            )
        if "device_type" in changes:
            row.device_type_id = changes.pop("device_type")
        if "asset" in changes:
            row.asset_id = changes.pop("asset")
        if "gateway" in changes:
            _check_gateway(s, tenant, device, changes["gateway"])
            row.gateway_id = changes.pop("gateway")
        for key, value in changes.items():
            if value is None and key in ("name", "enabled"):
                continue
            setattr(row, key, {} if key == "attributes" and value is None else value)
        s.flush()
        return _out(row)


@router.delete("/{device}", status_code=204)
def delete_device(tenant: str, device: str, principal: Writer, meta: Meta) -> Response:
    """The device's credential stops working at once; its stored telemetry is kept. A gateway
    that devices still connect through is refused (409): move or delete those first; so is a
    device that products name as their maker (``made_by``: traceability would lose it)."""
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="device.delete",
        object_type="device",
        object_id=device,
    ) as s:
        row = _device(s, tenant, device)
        if (n := _children(s, tenant, device)) > 0:
            raise Conflict(f"device {device!r} is still the gateway of {n} device(s)")
        made = s.scalar(
            sa.select(sa.func.count()).where(
                Product.tenant_id == tenant, Product.made_by_id == device
            )
        )
        if made:
            raise Conflict(
                f"device {device!r} made {made} product(s); change their made_by or delete "
                "them first"
            )
        s.delete(row)
    return Response(status_code=204)


@router.post("/{device}/credentials")
def rotate_credential(tenant: str, device: str, principal: Writer, meta: Meta) -> DeviceCredential:
    """Replace the device's secret; the old one stops working at once (on Mosquitto, once the
    password file is rewritten and reloaded: within a second when the platform manages it).
    Also how a device created before Mosquitto hashes were stored gets one."""
    secret, digest, broker_hash = _issue_secret()
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="device.rotate_credential",
        object_type="device",
        object_id=device,
    ) as s:
        row = _device(s, tenant, device)
        row.credential_hash = digest
        row.broker_hash = broker_hash
        row.credential_rotated_at = datetime.now(UTC)
    return DeviceCredential(username=device_username(tenant, device), password=secret)
