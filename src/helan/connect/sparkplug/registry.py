"""Birth certificates → platform devices and thing-model properties (blocking; run in a thread).

A device named in a birth is taken when it exists and no other edge node claimed it (the claim
is the device attribute ``sparkplug_node`` = ``{group}/{edge node}``). When the tenant allows
auto-creation, a missing device is created with a thing model of its own (device type id = the
device id) and missing properties are added to its thing model with the birth's types;
otherwise its data is rejected as from an unknown device or of an unknown metric. Each creation
is audited as the ``sparkplug`` service.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from helan.connect.sparkplug.host import Birth
from helan.connect.sparkplug.names import THING_TYPE
from helan.security.audit import record
from helan.storage.meta import MetaStore
from helan.storage.meta.directory import new_device_secret
from helan.storage.meta.models import Device, DeviceType, Tenant

NODE_ATTRIBUTE = "sparkplug_node"
UNKNOWN_TENANT = "unknown_tenant"
UNKNOWN_DEVICE = "unknown_device"
DEVICE_CONFLICT = "device_conflict"


def apply_births(
    meta: MetaStore, tenant: str, group: str, births: Sequence[Birth]
) -> dict[str, str]:
    """Make the births' devices and properties exist as far as the tenant allows; returns
    device -> reason for the devices whose data must be refused."""
    refused: dict[str, str] = {}
    with meta.session() as s:
        row = s.get(Tenant, tenant)
        if row is None or row.status != "active":
            return {b.device: UNKNOWN_TENANT for b in births}
        auto = row.allow_auto_create
        for birth in births:
            origin = f"{group}/{birth.edge_node}"
            device = s.get(Device, (tenant, birth.device))
            if device is None:
                if not auto:
                    refused[birth.device] = UNKNOWN_DEVICE
                    continue
                device = _create_device(s, tenant, birth, origin)
            claimed = (device.attributes or {}).get(NODE_ATTRIBUTE)
            if claimed not in (None, origin):
                refused[birth.device] = DEVICE_CONFLICT
                continue
            if claimed is None:
                device.attributes = {**(device.attributes or {}), NODE_ATTRIBUTE: origin}
            if auto:
                _add_properties(s, tenant, device, birth)
    return refused


def _create_device(s: Any, tenant: str, birth: Birth, origin: str) -> Device:
    # Data arrives through the edge node's connection: the secret is thrown away unseen, so
    # nothing can log in with it and no Mosquitto hash (broker_hash) is made; rotating the
    # credential through the API hands one out, with its hash, when the device needs a login.
    _, digest = new_device_secret()
    if s.get(DeviceType, (tenant, birth.device)) is None:
        name = f"Sparkplug {origin}/{birth.device}"[:200]
        s.add(DeviceType(tenant_id=tenant, id=birth.device, name=name, properties=[]))
        s.flush()  # no ORM relationship orders the two inserts
    device = Device(
        tenant_id=tenant,
        id=birth.device,
        name=birth.device,
        device_type_id=birth.device,
        attributes={NODE_ATTRIBUTE: origin},
        credential_hash=digest,
    )
    s.add(device)
    s.flush()
    record(
        s,
        actor_kind="service",
        actor="sparkplug",
        tenant=tenant,
        action="device.auto_create",
        object_type="device",
        object_id=birth.device,
        detail={"sparkplug_node": origin},
    )
    return device


def _add_properties(s: Any, tenant: str, device: Device, birth: Birth) -> None:
    if device.device_type_id is None:
        return
    dtype = s.get(DeviceType, (tenant, device.device_type_id))
    if dtype is None:
        return
    known = {p["name"] for p in dtype.properties or []}
    added = [
        {"name": name, "type": THING_TYPE[dt]}
        for name, dt in birth.metrics.items()
        if name not in known and dt in THING_TYPE
    ]
    if added:
        dtype.properties = [*(dtype.properties or []), *added]
        record(
            s,
            actor_kind="service",
            actor="sparkplug",
            tenant=tenant,
            action="device_type.auto_properties",
            object_type="device_type",
            object_id=dtype.id,
            detail={"added": [p["name"] for p in added]},
        )
