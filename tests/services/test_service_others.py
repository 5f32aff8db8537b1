"""Products (bulk all or none), device types, commands, events and users without HTTP."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from helan.core.errors import Conflict, NotFound, StorageUnavailable, ValidationFailed
from helan.security.principal import Principal, Role
from helan.services import commands, device_types, devices, events, products, users
from helan.services.paging import Window
from helan.storage.meta import MetaStore
from helan.storage.meta.models import AuditEntry, Product

SET_SPEED = {"name": "set_speed", "inputs": [{"name": "rpm", "type": "int", "min": 0, "max": 3000}]}


def test_bulk_is_all_or_none_with_an_error_per_item(meta: MetaStore, ops: Principal) -> None:
    devices.create_device(meta, ops, "acme", devices.NewDevice(id="press", name="press"))
    items = [
        products.NewProduct(id="B-1", name="batch", kind="batch"),
        products.NewProduct(id="SN-1", name="u", batch="B-1", made_by="press"),
        products.NewProduct(id="SN-1", name="again"),
        products.NewProduct(id="SN-2", name="u", made_by="ghost"),
        products.NewProduct(id="SN-3", name="u", batch="SN-1"),
    ]
    with pytest.raises(ValidationFailed, match=r"^3 error\(s\) in 5 products, none created") as exc:
        products.create_products(meta, ops, "acme", items)
    assert exc.value.details == [
        {"loc": ["body", 2, "id"], "message": "product 'SN-1' is also item 1", "type": "conflict"},
        {
            "loc": ["body", 3, "made_by"],
            "message": "unknown device 'ghost' (made_by)",
            "type": "unknown_reference",
        },
        {
            "loc": ["body", 4, "batch"],
            "message": "product 'SN-1' is a unit, not a batch",
            "type": "not_a_batch",
        },
    ]
    with meta.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Product)) == 0
    rows = products.create_products(meta, ops, "acme", items[:2])
    assert [(r.id, r.batch_id) for r in rows] == [("B-1", None), ("SN-1", "B-1")]
    with pytest.raises(Conflict, match="batch 'B-1' has 1 member"):
        products.update_product(meta, ops, "acme", "B-1", {"kind": "unit"})
    with pytest.raises(Conflict, match="still has 1 member"):
        products.delete_product(meta, ops, "acme", "B-1")
    with pytest.raises(ValidationFailed, match="give 1 to 10000"):
        products.create_products(meta, ops, "acme", [])


def test_device_type_in_use_is_kept(meta: MetaStore, ops: Principal) -> None:
    new = device_types.NewDeviceType(id="motor", name="Motor", services=[SET_SPEED])
    assert device_types.create_device_type(meta, ops, "acme", new).properties == []
    with pytest.raises(Conflict, match="device type 'motor' already exists"):
        device_types.create_device_type(meta, ops, "acme", new)
    motor = devices.NewDevice(id="m1", name="m", device_type="motor")
    devices.create_device(meta, ops, "acme", motor)
    with pytest.raises(Conflict, match="used by 1 device"):
        device_types.delete_device_type(meta, ops, "acme", "motor")
    row = device_types.update_device_type(
        meta, ops, "acme", "motor", {"description": "3 kW", "services": None}
    )
    assert (row.description, row.services) == ("3 kW", [SET_SPEED])


def test_commands_are_checked_and_refusals_audited_before_sending(
    meta: MetaStore, ops: Principal
) -> None:
    device_types.create_device_type(
        meta, ops, "acme", device_types.NewDeviceType(id="motor", name="M", services=[SET_SPEED])
    )
    motor = devices.NewDevice(id="m1", name="m", device_type="motor")
    devices.create_device(meta, ops, "acme", motor)

    def send(device: str, params: dict[str, int]) -> None:
        asyncio.run(
            commands.send_command(
                meta, None, ops, "acme", device, service="set_speed", params=params
            )
        )

    with pytest.raises(ValidationFailed, match="rpm"):
        send("m1", {"rpm": 9000})
    with pytest.raises(NotFound, match="device 'ghost' not found"):
        send("ghost", {"rpm": 1})
    # The checks pass; without a command service (no MQTT) nothing can be sent.
    with pytest.raises(StorageUnavailable, match="commands are not available"):
        send("m1", {"rpm": 1500})
    with meta.session() as s:
        stmt = sa.select(AuditEntry).where(AuditEntry.action == "device.command")
        trail = [(e.actor, e.object_id, e.result) for e in s.scalars(stmt.order_by(AuditEntry.id))]
    assert trail == [("ops", "m1", "invalid_params"), ("ops", "ghost", "not_found")]
    assert commands.list_commands(meta, "acme", "m1", Window()).total == 0
    with pytest.raises(NotFound):
        commands.list_commands(meta, "acme", "ghost", Window())


def test_event_filters(meta: MetaStore, ops: Principal) -> None:
    with pytest.raises(ValidationFailed, match="start 5 is after end 4"):
        events.list_tenant_events(meta, "acme", Window(), events.EventFilter(start_ms=5, end_ms=4))
    with pytest.raises(NotFound, match="device 'ghost' not found"):
        events.list_device_events(meta, "acme", "ghost", Window(), events.EventFilter())
    assert events.list_tenant_events(meta, "acme", Window(), events.EventFilter()).total == 0


def test_user_password_policy_for_callers_without_a_schema(
    meta: MetaStore, root: Principal
) -> None:
    admin = Principal(kind="user", subject="boss", tenant="acme", role=Role.TENANT_ADMIN)
    with pytest.raises(ValidationFailed, match="at least 12 characters"):
        users.create_user(
            meta, admin, "acme", users.NewUser(username="ann", password="short", role=Role.VIEWER)
        )
    with pytest.raises(ValidationFailed, match="invalid username"):
        users.create_user(
            meta, admin, "acme", users.NewUser(username="a b", password="p" * 12, role=Role.VIEWER)
        )
    user = users.create_user(
        meta, admin, "acme", users.NewUser(username="ann", password="p" * 12, role=Role.VIEWER)
    )
    assert (user.tenant_id, user.role) == ("acme", "viewer")
    with pytest.raises(ValidationFailed, match="at least 12 characters"):
        users.update_user(meta, admin, "acme", "ann", users.UserChanges(password="x"))
