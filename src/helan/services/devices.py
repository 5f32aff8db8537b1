"""Devices and the credential they connect with (username ``<device>@<tenant>``, a random secret
returned once and stored as SHA-256 for the platform's checks and as Mosquitto's ``$7$`` hash
for an external broker's password file).

A device may name a ``gateway``: another device of its tenant whose credential publishes and
takes commands for it. One level only: a gateway has no gateway itself, so whose credential
speaks for a device is never more than one hop away."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypedDict

import sqlalchemy as sa
from sqlalchemy.orm import Session

from helan.connect.mqtt.mosquitto_auth import password_hash
from helan.core import ids
from helan.core.errors import Conflict, NotFound, ValidationFailed
from helan.ident.link.rules import device_identifier
from helan.security.audit import audited
from helan.security.principal import Principal
from helan.services.fields import AUTO, Attributes, Auto
from helan.services.fields import name as check_name
from helan.services.paging import Listing, PageRequest, listing
from helan.storage.meta import MetaStore
from helan.storage.meta.directory import device_username, new_device_secret
from helan.storage.meta.models import Asset, Device, DeviceType, Product
from helan.storage.meta.query import contains

SORT = {
    "id": Device.id,
    "name": Device.name,
    "device_type": Device.device_type_id,
    "created_at": Device.created_at,
    "updated_at": Device.updated_at,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class NewDevice:
    id: str
    name: str
    device_type: str | None = None
    asset: str | None = None
    gateway: str | None = None
    enabled: bool = True
    vendor: str | None = None
    model: str | None = None
    firmware: str | None = None
    location: str | None = None
    identifier: str | Literal[Auto.AUTO] | None = AUTO
    attributes: Attributes = field(default_factory=dict)


class DeviceChanges(TypedDict, total=False):
    """The fields to change; a key left out keeps its value. None clears an optional field
    (``attributes``: to empty) and leaves ``name`` and ``enabled`` as they are."""

    name: str | None
    device_type: str | None
    asset: str | None
    gateway: str | None
    enabled: bool | None
    vendor: str | None
    model: str | None
    firmware: str | None
    location: str | None
    identifier: str | None
    attributes: Attributes | None


@dataclass(frozen=True, slots=True)
class Credential:
    """A device's login; ``password`` exists only here, never stored."""

    username: str
    password: str


@dataclass(frozen=True, slots=True)
class Created:
    device: Device
    credential: Credential


def username(row: Device) -> str:
    return device_username(row.tenant_id, row.id)


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


def list_devices(
    meta: MetaStore,
    tenant: str,
    paging: PageRequest,
    *,
    device_type: str | None = None,
    asset: str | None = None,
    gateway: str | None = None,
    enabled: bool | None = None,
    q: str | None = None,
) -> Listing[Device]:
    """``asset``: attached to this node; ``gateway``: connecting through this device; ``q``:
    text in the id or name."""
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
    return listing(meta, stmt, paging, sort=SORT, default="id", tiebreak=[Device.id])


def create_device(meta: MetaStore, principal: Principal, tenant: str, new: NewDevice) -> Created:
    """The device and its credential, whose password is never shown again."""
    ids.device_id(new.id)
    check_name(new.name)
    secret, digest, broker_hash = _issue_secret()
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="device.create",
        object_type="device",
        object_id=new.id,
    ) as s:
        if s.get(Device, (tenant, new.id)) is not None:
            raise Conflict(f"device {new.id!r} already exists")
        _check_refs(s, tenant, new.device_type, new.asset)
        _check_gateway(s, tenant, new.id, new.gateway)
        given = new.identifier is not AUTO
        wanted = None if new.identifier is AUTO else new.identifier
        row = Device(
            tenant_id=tenant,
            id=new.id,
            name=new.name,
            device_type_id=new.device_type,
            asset_id=new.asset,
            gateway_id=new.gateway,
            enabled=new.enabled,
            vendor=new.vendor,
            model=new.model,
            firmware=new.firmware,
            location=new.location,
            identifier=device_identifier(s, tenant, new.id, wanted, given=given),
            attributes=dict(new.attributes),
            credential_hash=digest,
            broker_hash=broker_hash,
        )
        s.add(row)
        s.flush()
    return Created(device=row, credential=Credential(username(row), secret))


def get_device(meta: MetaStore, tenant: str, device: str) -> Device:
    with meta.session() as s:
        return _device(s, tenant, device)


def update_device(
    meta: MetaStore, principal: Principal, tenant: str, device: str, changes: DeviceChanges
) -> Device:
    fields: dict[str, Any] = dict(changes)
    if fields.get("name") is not None:
        check_name(fields["name"])
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="device.update",
        object_type="device",
        object_id=device,
    ) as s:
        row = _device(s, tenant, device)
        _check_refs(s, tenant, fields.get("device_type"), fields.get("asset"))
        if "identifier" in fields:
            fields["identifier"] = device_identifier(
                s, tenant, device, fields["identifier"], given=True
            )
        if "device_type" in fields:
            row.device_type_id = fields.pop("device_type")
        if "asset" in fields:
            row.asset_id = fields.pop("asset")
        if "gateway" in fields:
            _check_gateway(s, tenant, device, fields["gateway"])
            row.gateway_id = fields.pop("gateway")
        for key, value in fields.items():
            if value is None and key in ("name", "enabled"):
                continue
            setattr(row, key, {} if key == "attributes" and value is None else value)
        s.flush()
        return row


def delete_device(meta: MetaStore, principal: Principal, tenant: str, device: str) -> None:
    """The credential stops working at once; stored telemetry is kept. Refused (Conflict) for a
    gateway that devices still connect through, and for a device that products name as their
    maker (traceability would lose it)."""
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


def rotate_credential(
    meta: MetaStore, principal: Principal, tenant: str, device: str
) -> Credential:
    """Replace the device's secret; the old one stops working at once."""
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
    return Credential(device_username(tenant, device), secret)
