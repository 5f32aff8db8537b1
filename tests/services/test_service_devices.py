"""Device rules without HTTP: gateways one level deep, duplicates, deletes that would orphan,
the audit trail, identifiers left to the platform."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from helan.core.errors import Conflict, NotFound, ValidationFailed
from helan.security.principal import Principal
from helan.services import devices, products, tenants
from helan.services.fields import AUTO
from helan.services.paging import Window
from helan.storage.meta import MetaStore
from helan.storage.meta.directory import MetaDirectory
from helan.storage.meta.models import AuditEntry


def _new(meta: MetaStore, actor: Principal, device: str, gateway: str | None = None) -> None:
    devices.create_device(
        meta, actor, "acme", devices.NewDevice(id=device, name=device, gateway=gateway)
    )


def _audit(meta: MetaStore, action: str) -> list[AuditEntry]:
    with meta.session() as s:
        stmt = sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return list(s.scalars(stmt))


def test_create_returns_a_working_credential_and_audits_the_actor(
    meta: MetaStore, ops: Principal
) -> None:
    created = devices.create_device(
        meta, ops, "acme", devices.NewDevice(id="plc-1", name="PLC", attributes={"line": 2})
    )
    assert created.device.attributes == {"line": 2}
    assert created.credential.username == "plc-1@acme"
    assert MetaDirectory(meta).authenticate("plc-1@acme", created.credential.password) is not None
    [entry] = _audit(meta, "device.create")
    assert (entry.actor_kind, entry.actor, entry.tenant_id) == ("user", "ops", "acme")
    assert (entry.object_id, entry.result) == ("plc-1", "ok")


def test_duplicate_is_a_conflict_and_the_refusal_is_audited(
    meta: MetaStore, ops: Principal
) -> None:
    _new(meta, ops, "plc-1")
    with pytest.raises(Conflict, match="device 'plc-1' already exists"):
        _new(meta, ops, "plc-1")
    assert [e.result for e in _audit(meta, "device.create")] == ["ok", "conflict"]


def test_gateways_are_one_level_deep(meta: MetaStore, ops: Principal) -> None:
    _new(meta, ops, "gw")
    _new(meta, ops, "plc-1", gateway="gw")
    with pytest.raises(ValidationFailed, match="cannot be a gateway itself"):
        _new(meta, ops, "sensor", gateway="plc-1")
    _new(meta, ops, "gw2")
    with pytest.raises(ValidationFailed, match="is the gateway of 1 device"):
        devices.update_device(meta, ops, "acme", "gw", {"gateway": "gw2"})
    with pytest.raises(ValidationFailed, match="its own gateway"):
        devices.update_device(meta, ops, "acme", "gw2", {"gateway": "gw2"})
    with pytest.raises(ValidationFailed, match="unknown gateway") as exc:
        _new(meta, ops, "x", gateway="nope")
    assert exc.value.code == "unknown_reference"
    moved = devices.update_device(meta, ops, "acme", "plc-1", {"gateway": "gw2"})
    assert moved.gateway_id == "gw2"
    assert [d.id for d in devices.list_devices(meta, "acme", Window(), gateway="gw2").rows] == [
        "plc-1"
    ]


def test_delete_refuses_a_gateway_with_children_and_a_maker_of_products(
    meta: MetaStore, ops: Principal
) -> None:
    _new(meta, ops, "gw")
    _new(meta, ops, "plc-1", gateway="gw")
    with pytest.raises(Conflict, match="still the gateway of 1 device"):
        devices.delete_device(meta, ops, "acme", "gw")
    assert devices.get_device(meta, "acme", "gw").id == "gw"
    products.create_product(
        meta, ops, "acme", products.NewProduct(id="SN-1", name="unit", made_by="plc-1")
    )
    with pytest.raises(Conflict, match="made 1 product"):
        devices.delete_device(meta, ops, "acme", "plc-1")
    products.delete_product(meta, ops, "acme", "SN-1")
    devices.delete_device(meta, ops, "acme", "plc-1")
    devices.delete_device(meta, ops, "acme", "gw")
    with pytest.raises(NotFound, match="device 'gw' not found"):
        devices.get_device(meta, "acme", "gw")


def test_rotation_replaces_the_secret(meta: MetaStore, ops: Principal) -> None:
    old = devices.create_device(meta, ops, "acme", devices.NewDevice(id="d", name="d"))
    new = devices.rotate_credential(meta, ops, "acme", "d")
    directory = MetaDirectory(meta)
    assert directory.authenticate("d@acme", old.credential.password) is None
    assert directory.authenticate("d@acme", new.password) is not None


def test_identifier_auto_none_or_given(meta: MetaStore, root: Principal, ops: Principal) -> None:
    tenants.update_tenant(meta, root, "acme", {"ident_prefix": "88.118.100"})
    auto = devices.create_device(meta, ops, "acme", devices.NewDevice(id="a", name="a"))
    assert auto.device.identifier == "88.118.100/a"
    none = devices.NewDevice(id="b", name="b", identifier=None)
    assert devices.create_device(meta, ops, "acme", none).device.identifier is None
    given = devices.NewDevice(id="c", name="c", identifier="88.118.100/line-3")
    assert devices.create_device(meta, ops, "acme", given).device.identifier == "88.118.100/line-3"
    assert devices.NewDevice(id="x", name="x").identifier is AUTO


def test_bad_input_from_callers_without_a_schema(meta: MetaStore, ops: Principal) -> None:
    """``helan admin`` and apps have no request schema: the service checks ids and names."""
    with pytest.raises(ValidationFailed, match="invalid device id"):
        _new(meta, ops, "no spaces")
    with pytest.raises(ValidationFailed, match="name must be 1 to 200"):
        devices.create_device(meta, ops, "acme", devices.NewDevice(id="d", name=""))
    with pytest.raises(ValidationFailed, match="unknown device type") as exc:
        devices.create_device(
            meta, ops, "acme", devices.NewDevice(id="d", name="d", device_type="t")
        )
    assert exc.value.code == "unknown_reference"
