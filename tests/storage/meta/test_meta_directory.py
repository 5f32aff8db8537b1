"""The in-memory device directory: fresh after every commit, fast, and strict about credentials."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from helan.storage.meta import MetaStore
from helan.storage.meta.directory import MetaDirectory, device_username, new_device_secret
from helan.storage.meta.models import Device, DeviceType, Tenant


@pytest.fixture
def meta(tmp_path: Path) -> MetaStore:
    store = MetaStore(f"sqlite:///{tmp_path / 'meta.sqlite3'}")
    store.migrate()
    with store.session() as s:
        s.add(Tenant(id="acme", name="A"))
        s.add(Tenant(id="bolt", name="B"))
        s.flush()
        s.add(
            DeviceType(
                tenant_id="acme",
                id="pump",
                name="Pump",
                properties=[{"name": "p", "type": "float", "unit": "bar", "max": 16}],
            )
        )
    yield store
    store.close()


def _add_device(meta: MetaStore, tenant: str, device: str, dtype: str | None = None) -> str:
    secret, digest = new_device_secret()
    with meta.session() as s:
        s.add(
            Device(
                tenant_id=tenant,
                id=device,
                name=device,
                device_type_id=dtype,
                credential_hash=digest,
            )
        )
    return secret


def test_lookup_and_authenticate_follow_commits(meta: MetaStore) -> None:
    directory = MetaDirectory(meta)
    assert directory.lookup("acme", "d1") is None
    secret = _add_device(meta, "acme", "d1", "pump")
    ref = directory.lookup("acme", "d1")
    assert ref is not None
    assert ref.metrics["p"].unit == "bar"
    assert ref.enabled
    assert directory.authenticate("d1@acme", secret) == ref
    assert directory.authenticate("d1@acme", secret + "x") is None
    assert directory.authenticate("d1@bolt", secret) is None  # same id, other tenant
    assert directory.authenticate("d1", secret) is None
    assert directory.authenticate("", "") is None
    # Disabling the device, suspending its tenant, rotating and deleting all apply at once.
    with meta.session() as s:
        s.get(Device, ("acme", "d1")).enabled = False  # type: ignore[union-attr]
    assert directory.authenticate("d1@acme", secret) is None
    assert directory.lookup("acme", "d1").enabled is False  # type: ignore[union-attr]
    with meta.session() as s:
        s.get(Device, ("acme", "d1")).enabled = True  # type: ignore[union-attr]
        s.get(Tenant, "acme").status = "suspended"  # type: ignore[union-attr]
    assert directory.authenticate("d1@acme", secret) is None
    with meta.session() as s:
        s.get(Tenant, "acme").status = "active"  # type: ignore[union-attr]
    assert directory.authenticate("d1@acme", secret) is not None
    new_secret, digest = new_device_secret()
    with meta.session() as s:
        s.get(Device, ("acme", "d1")).credential_hash = digest  # type: ignore[union-attr]
    assert directory.authenticate("d1@acme", secret) is None  # the cached success is gone too
    assert directory.authenticate("d1@acme", new_secret) is not None
    with meta.session() as s:
        s.delete(s.get(Device, ("acme", "d1")))
    assert directory.lookup("acme", "d1") is None
    assert directory.authenticate("d1@acme", new_secret) is None


def test_thing_model_change_reaches_devices_of_that_type(meta: MetaStore) -> None:
    directory = MetaDirectory(meta)
    _add_device(meta, "acme", "d1", "pump")
    _add_device(meta, "acme", "d2")
    with meta.session() as s:
        s.get(DeviceType, ("acme", "pump")).properties = [{"name": "q", "type": "int"}]  # type: ignore[union-attr]
    assert set(directory.lookup("acme", "d1").metrics) == {"q"}  # type: ignore[union-attr]
    assert directory.lookup("acme", "d2").metrics == {}  # type: ignore[union-attr]


def test_children_follow_every_kind_of_change(meta: MetaStore) -> None:
    directory = MetaDirectory(meta)
    _add_device(meta, "acme", "gw")
    _add_device(meta, "acme", "gw2")
    _add_device(meta, "bolt", "gw")
    with meta.session() as s:
        for i, dtype in ((1, "pump"), (2, None)):
            s.add(
                Device(
                    tenant_id="acme",
                    id=f"plc-{i}",
                    name="p",
                    device_type_id=dtype,
                    gateway_id="gw",
                    credential_hash="x",
                )
            )
    assert directory.children("acme", "gw") == {"plc-1", "plc-2"}
    assert directory.children("bolt", "gw") == frozenset()  # same id, other tenant
    with meta.session() as s:  # a thing-model change reloads plc-1 by its type
        s.get(DeviceType, ("acme", "pump")).properties = []  # type: ignore[union-attr]
    with meta.session() as s:  # a tenant change reloads all of acme
        s.get(Tenant, "acme").name = "renamed"  # type: ignore[union-attr]
    assert directory.children("acme", "gw") == {"plc-1", "plc-2"}
    with meta.session() as s:
        s.get(Device, ("acme", "plc-2")).gateway_id = "gw2"  # type: ignore[union-attr]
    assert directory.children("acme", "gw") == {"plc-1"}
    assert directory.children("acme", "gw2") == {"plc-2"}
    with meta.session() as s:
        s.delete(s.get(Device, ("acme", "plc-1")))
    assert directory.children("acme", "gw") == frozenset()
    directory.refresh()
    assert directory.children("acme", "gw2") == {"plc-2"}
    assert directory.lookup("acme", "plc-2").gateway == "gw2"  # type: ignore[union-attr]


def test_other_process_changes_arrive_on_refresh(meta: MetaStore) -> None:
    directory = MetaDirectory(meta)
    other = MetaStore(meta.url)  # a second process: its commits are not heard here
    secret, digest = new_device_secret()
    with other.session() as s:
        s.add(Device(tenant_id="bolt", id="x", name="x", credential_hash=digest))
    other.close()
    assert directory.lookup("bolt", "x") is None
    directory.refresh()
    assert directory.authenticate(device_username("bolt", "x"), secret) is not None


def test_hot_path_speed(meta: MetaStore) -> None:
    """Measured: lookups and cached authentications run at millions per second."""
    secret = _add_device(meta, "acme", "d1", "pump")
    directory = MetaDirectory(meta)
    n = 200_000
    t0 = time.perf_counter()
    for _ in range(n):
        directory.lookup("acme", "d1")
    lookups = n / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in range(n):
        directory.authenticate("d1@acme", secret)
    auths = n / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in range(20_000):
        directory.authenticate("d1@acme", "wrong")
    misses = 20_000 / (time.perf_counter() - t0)
    print(f"lookup {lookups:,.0f}/s, cached auth {auths:,.0f}/s, failed auth {misses:,.0f}/s")
    assert lookups > 500_000
    assert auths > 300_000
    assert misses > 50_000


def test_event_specs_follow_the_thing_model(meta: MetaStore) -> None:
    """The ingest validates events from memory: a changed model applies from the next lookup."""
    directory = MetaDirectory(meta)
    _add_device(meta, "acme", "d1", "pump")
    assert directory.lookup("acme", "d1").events == {}  # type: ignore[union-attr]
    with meta.session() as s:
        s.get(DeviceType, ("acme", "pump")).events = [  # type: ignore[union-attr]
            {
                "name": "jam",
                "level": "fault",
                "outputs": [
                    {"name": "station", "type": "int", "min": 1, "max": 8},
                    {"name": "note", "type": "string", "required": False},
                ],
            },
            {"name": "door_open"},
        ]
    ref = directory.lookup("acme", "d1")
    assert ref is not None
    jam = ref.events["jam"]
    assert (jam.level, jam.required) == ("fault", frozenset({"station"}))
    assert (jam.outputs["station"].type, jam.outputs["station"].max) == ("int", 8)
    assert jam.outputs["note"].type == "string"
    assert ref.events["door_open"].level == "info"
    assert ref.events["door_open"].outputs == {}
