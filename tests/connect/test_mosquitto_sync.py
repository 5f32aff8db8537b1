"""Mosquitto's password and ACL files kept in step with the device directory.

The first tests run the sync service on a real SQLite metadata store and read the files it
writes; the rest run the whole platform (API, ingest) against a private Mosquitto started with
the configuration ``helan admin mosquitto-files`` writes, and prove with real MQTT clients what
a device may do after each change made through the API.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest
import sqlalchemy as sa
from mqtt_helpers import Device, now_ms
from tests.conftest import eventually, free_port, start_mosquitto
from typer.testing import CliRunner

from helan.admin.bootstrap import bootstrap_admin
from helan.admin.cli import app as admin_cli
from helan.api.app import create_app
from helan.config import Settings
from helan.connect.mqtt.mosquitto_auth import password_hash, password_matches
from helan.connect.mqtt.mosquitto_sync import MosquittoAuthSync, login_accepted
from helan.connect.mqtt.service import SERVICE_USERNAME, broker_address
from helan.platform import Platform
from helan.storage.meta import MetaStore
from helan.storage.meta.directory import MetaDirectory, new_device_secret
from helan.storage.meta.models import Device as DeviceRow
from helan.storage.meta.models import Tenant
from helan.storage.telemetry.base import RawQuery

MOSQUITTO = "/usr/sbin/mosquitto"
SERVICE = "mqtt://helan-svc:svc-secret@127.0.0.1:{port}"


# --- the service on a real metadata store --------------------------------------------------


@pytest.fixture
def meta(tmp_path: Path) -> Iterator[MetaStore]:
    store = MetaStore(f"sqlite:///{tmp_path / 'meta.sqlite3'}")
    store.migrate()
    with store.session() as s:
        s.add_all([Tenant(id="acme", name="A"), Tenant(id="bolt", name="B")])
    yield store
    store.close()


def add_device(
    meta: MetaStore, tenant: str, device: str, *, hashed: bool = True, **fields: object
) -> str:
    """One device in its own commit (as the API makes them); returns its secret."""
    secret, digest = new_device_secret()
    with meta.session() as s:
        s.add(
            DeviceRow(
                tenant_id=tenant,
                id=device,
                name=device,
                credential_hash=digest,
                broker_hash=password_hash(secret) if hashed else None,
                **fields,
            )
        )
    return secret


def logins(sync: MosquittoAuthSync) -> dict[str, str]:
    lines = sync.passwd_path.read_text().splitlines()
    return dict(line.split(":", 1) for line in lines)


def rules(sync: MosquittoAuthSync, username: str) -> str:
    """The ACL lines of one login."""
    return sync.acl_path.read_text().split(f"user {username}\n")[1].split("\n\n")[0]


def make_sync(meta: MetaStore, directory: Path, **kw: object) -> MosquittoAuthSync:
    broker = broker_address(SERVICE.format(port=1883))
    return MosquittoAuthSync(meta, directory, broker=broker, **kw)  # type: ignore[arg-type]


async def test_files_follow_the_directory(meta: MetaStore, tmp_path: Path) -> None:
    """Service login and devices in passwd (0600, replaced whole), gateway children in the ACL;
    disabled devices and suspended tenants left out; every change reaches the files."""
    secret = add_device(meta, "acme", "gw")
    add_device(meta, "acme", "plc-1", gateway_id="gw")
    add_device(meta, "acme", "off", enabled=False)
    add_device(meta, "bolt", "pump-1")
    sync = make_sync(meta, tmp_path / "auth", quiet_s=0.05)
    await sync.start()
    try:
        users = logins(sync)
        assert set(users) == {"helan-svc", "gw@acme", "plc-1@acme", "pump-1@bolt"}
        assert password_matches(secret, users["gw@acme"])
        assert password_matches("svc-secret", users["helan-svc"])
        gw_rules = rules(sync, "gw@acme")
        assert "topic readwrite helan/v1/acme/plc-1/#" in gw_rules
        assert "topic write spBv1.0/acme/NDATA/gw/#" in gw_rules
        for path in (sync.passwd_path, sync.acl_path, sync.conf_path):
            assert path.stat().st_mode & 0o777 == 0o600
        assert sorted(p.name for p in sync.directory.iterdir()) == [
            "acl",
            "mosquitto.conf",
            "passwd",
        ]
        conf = sync.conf_path.read_text()
        assert f"password_file {sync.passwd_path.resolve()}" in conf
        assert "listener 1883\n" in conf

        with meta.session() as s:
            s.get(Tenant, "bolt").status = "suspended"  # type: ignore[union-attr]
            s.get(DeviceRow, ("acme", "plc-1")).gateway_id = None  # type: ignore[union-attr]
        await eventually(lambda: "pump-1@bolt" not in logins(sync), 5)
        assert "helan/v1/acme/plc-1/" not in rules(sync, "gw@acme")
        with meta.session() as s:
            s.execute(sa.delete(DeviceRow).where(DeviceRow.id == "plc-1"))  # bulk: no keys
        await eventually(lambda: "plc-1@acme" not in logins(sync), 5)
        assert sync.status.ok
        assert sync.status.reloads == 0  # no pid file: nothing signalled
    finally:
        await sync.stop()


async def test_restart_keeps_the_files(meta: MetaStore, tmp_path: Path) -> None:
    """A second start with the same service password rewrites nothing (its hash is kept)."""
    add_device(meta, "acme", "pump-1")
    first = make_sync(meta, tmp_path / "auth")
    await first.start()
    await first.stop()
    before = first.passwd_path.read_text()
    second = make_sync(meta, tmp_path / "auth")
    await second.start()
    await second.stop()
    assert second.status.writes == 0
    assert second.passwd_path.read_text() == before


async def test_a_burst_is_a_few_rewrites(meta: MetaStore, tmp_path: Path) -> None:
    """1,000 devices created one commit each by a provisioning script: a handful of rewrites,
    and the last one holds every device."""
    sync = make_sync(meta, tmp_path / "auth", quiet_s=0.2, max_delay_s=1.0)
    await sync.start()
    try:
        writes = sync.status.writes

        def provision() -> None:
            secret, digest = new_device_secret()
            hashed = password_hash(secret)
            for i in range(1000):
                with meta.session() as s:
                    s.add(
                        DeviceRow(
                            tenant_id="acme",
                            id=f"d-{i}",
                            name="d",
                            credential_hash=digest,
                            broker_hash=hashed,
                        )
                    )

        started = time.monotonic()
        await asyncio.to_thread(provision)
        took = time.monotonic() - started
        await eventually(lambda: len(logins(sync)) == 1001, 10)
        rewrites = sync.status.writes - writes
        # at most one per max_delay_s while the burst lasts, and one after it
        assert 1 <= rewrites <= took / 1.0 + 2, (rewrites, took)
        assert rewrites < 20
    finally:
        await sync.stop()


async def test_devices_mosquitto_cannot_take(
    meta: MetaStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A credential issued before migration 0006 has no Mosquitto hash: the device is left out
    (and named in the log) but still authenticates with the embedded broker's directory; a
    device id with ':' cannot be a Mosquitto username and is left out without breaking the
    file for the others."""
    old_secret = add_device(meta, "acme", "old", hashed=False)
    add_device(meta, "acme", "line:1")
    add_device(meta, "acme", "pump-1")
    sync = make_sync(meta, tmp_path / "auth")
    with caplog.at_level(logging.WARNING, "helan.connect.mqtt.mosquitto_sync"):
        await sync.start()
    await sync.stop()
    assert set(logins(sync)) == {"helan-svc", "pump-1@acme"}
    assert sync.status.without_broker_hash == ["acme/old"]
    assert sync.status.unwritable == ["acme/line:1"]
    assert "issued before Mosquitto hashes were stored" in caplog.text
    assert "acme/old" in caplog.text
    assert MetaDirectory(meta).authenticate("old@acme", old_secret) is not None


async def test_unwritable_directory_is_reported_and_retried(
    meta: MetaStore, tmp_path: Path
) -> None:
    blocker = tmp_path / "auth"
    blocker.write_text("a file where the directory should be")
    sync = make_sync(meta, blocker, quiet_s=0.05)
    await sync.start()  # does not raise
    try:
        assert not sync.status.ok
        assert sync.status.failures == 1
        assert sync.status.last_error is not None
        assert f"cannot write Mosquitto's files in {blocker}" in sync.status.last_error
        blocker.unlink()
        add_device(meta, "acme", "pump-1")  # the next change retries
        await eventually(lambda: sync.status.ok, 5)
        assert "pump-1@acme" in logins(sync)
    finally:
        await sync.stop()


async def test_bad_pid_files_are_reported_and_retried(meta: MetaStore, tmp_path: Path) -> None:
    """A missing pid file, a dead pid and a pid reused by another program: the files are still
    written, nothing is signalled (a SIGHUP would end the other program), each change retries."""
    pid_file = tmp_path / "mosquitto.pid"
    sync = make_sync(meta, tmp_path / "auth", pid_file=pid_file, quiet_s=0.05, probe_s=0.5)
    await sync.start()
    try:
        assert sync.status.last_error is not None
        assert "does not exist" in sync.status.last_error
        assert sync.passwd_path.exists()

        dead = await asyncio.create_subprocess_exec("true")
        await dead.wait()
        pid_file.write_text(f"{dead.pid}\n")
        failures = sync.status.failures
        add_device(meta, "acme", "pump-1")
        await eventually(lambda: sync.status.failures > failures, 5)
        assert "Mosquitto is not running" in (sync.status.last_error or "")
        assert "pump-1@acme" in logins(sync)

        other = await asyncio.create_subprocess_exec("sleep", "30")
        try:
            pid_file.write_text(str(other.pid))
            failures = sync.status.failures
            add_device(meta, "acme", "pump-2")
            await eventually(lambda: sync.status.failures > failures, 5)
            assert "is 'sleep', not mosquitto" in (sync.status.last_error or "")
            assert other.returncode is None  # not signalled
        finally:
            other.kill()
            await other.wait()
        assert sync.status.reloads == 0
        assert not sync.status.ok
    finally:
        await sync.stop()


# --- the platform against a private Mosquitto ----------------------------------------------


@dataclass
class World:
    platform: Platform
    port: int
    http: httpx.AsyncClient
    headers: dict[str, str]

    async def post(self, url: str, body: object | None = None) -> dict[str, object]:
        r = await self.http.post(url, json=body, headers=self.headers)
        assert r.status_code < 300, r.text
        return r.json()  # type: ignore[no-any-return]

    async def device(self, device: str, **fields: object) -> tuple[str, str]:
        body = {"id": device, "name": device, "device_type": "pump", **fields}
        made = await self.post("/api/v1/tenants/acme/devices", body)
        return str(made["username"]), str(made["password"])

    def stored(self, device: str) -> int:
        q = RawQuery(tenant="acme", device=device, metric="pressure", start_ms=0, end_ms=2**62)
        return self.platform.telemetry.raw(q).num_rows


@pytest.fixture
def operator_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """What docs/ingest.md tells an operator: two settings, ``helan admin mosquitto-files``,
    then Mosquitto started with the configuration it wrote."""
    port = free_port()
    settings = Settings(
        data_dir=tmp_path / "var",
        mqtt_url=SERVICE.format(port=port),
        mosquitto_auth_dir=tmp_path / "mosquitto",
        mosquitto_pid_file=tmp_path / "mosquitto" / "mosquitto.pid",
        http_port=free_port(),
        ident_port=0,
        ingest_batch_ms=20,
    )
    for key in ("data_dir", "mqtt_url", "mosquitto_auth_dir", "mosquitto_pid_file"):
        monkeypatch.setenv(f"HELAN_{key.upper()}", str(getattr(settings, key)))
    r = CliRunner().invoke(admin_cli, ["mosquitto-files"])
    assert r.exit_code == 0, r.output
    assert "1 login(s)" in r.output
    conf = tmp_path / "mosquitto" / "mosquitto.conf"
    proc = start_mosquitto(conf, port)
    yield settings
    proc.terminate()
    proc.wait(5)


@pytest.fixture
async def world(operator_setup: Settings) -> AsyncIterator[World]:
    platform = Platform.build(operator_setup)
    password = bootstrap_admin(platform.meta)
    await platform.start()
    transport = httpx.ASGITransport(app=create_app(platform))
    async with httpx.AsyncClient(transport=transport, base_url="http://helan") as http:
        r = await http.post("/api/v1/auth/token", json={"username": "admin", "password": password})
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        w = World(platform, broker_address(operator_setup.mqtt_url).port, http, headers)
        await w.post("/api/v1/tenants", {"id": "acme", "name": "Acme"})
        pump = {"id": "pump", "name": "Pump", "properties": [{"name": "pressure", "type": "float"}]}
        await w.post("/api/v1/tenants/acme/device-types", pump)
        yield w
    await platform.stop()


async def connect(port: int, username: str, password: str) -> Device:
    """A client whose CONNECT was answered, accepted or refused."""
    dev = await asyncio.to_thread(Device, port, username, password, reconnect=False)
    await eventually(lambda: dev.connected.is_set() or bool(dev.refused), 5)
    return dev


async def login(port: int, username: str, password: str, within: float = 5.0) -> Device:
    """A connected client, trying again until Mosquitto has reloaded the rewritten files."""
    deadline = time.monotonic() + within
    while True:
        dev = await connect(port, username, password)
        if dev.connected.is_set():
            return dev
        dev.close()
        assert time.monotonic() < deadline, f"{username} still refused after {within} s"
        await asyncio.sleep(0.1)


async def refused(port: int, username: str, password: str, within: float = 5.0) -> None:
    """Wait until Mosquitto refuses this login (after the rewrite and reload)."""
    deadline = time.monotonic() + within
    while True:
        dev = await connect(port, username, password)
        dev.close()
        if dev.refused:
            return
        assert time.monotonic() < deadline, f"{username} still accepted after {within} s"
        await asyncio.sleep(0.1)


def telemetry(value: float) -> bytes:
    return orjson.dumps({"ts": now_ms(), "values": {"pressure": value}})


async def test_api_device_publishes_through_mosquitto(world: World) -> None:
    """Created through the API → connects and its telemetry is stored; a wrong password is
    refused; its publish on another device's topic never reaches the ingest."""
    assert world.platform.mosquitto is not None
    assert world.platform.mosquitto.status.reloads >= 1
    user1, secret1 = await world.device("pump-1")
    await world.device("pump-2")
    dev = await login(world.port, user1, secret1)
    wrong = await connect(world.port, user1, secret1[:-1] + ("A" if secret1[-1] != "A" else "B"))
    assert wrong.refused
    assert not wrong.connected.is_set()
    wrong.close()
    dev.publish("helan/v1/acme/pump-2/telemetry", telemetry(1.0))  # not its topic
    dev.publish("helan/v1/acme/pump-1/telemetry", telemetry(2.0)).wait_for_publish(5)
    await eventually(lambda: world.stored("pump-1") == 1, 5)
    await asyncio.sleep(0.3)
    assert world.stored("pump-2") == 0
    dev.close()


async def test_rotate_and_delete_end_the_old_credential(world: World) -> None:
    user, old = await world.device("pump-1")
    connected = await login(world.port, user, old)
    rotated = await world.post("/api/v1/tenants/acme/devices/pump-1/credentials")
    new = str(rotated["password"])
    await refused(world.port, user, old)
    # the reload also ends the session that logged in with the old secret
    await eventually(lambda: not connected.client.is_connected(), 5)
    connected.close()
    dev = await login(world.port, user, new)
    dev.close()

    r = await world.http.delete("/api/v1/tenants/acme/devices/pump-1", headers=world.headers)
    assert r.status_code == 204
    await refused(world.port, user, new)


async def test_gateway_children_follow_reparenting(world: World) -> None:
    """A gateway's credential publishes for its children; moved to another gateway, a child's
    topic is the new gateway's and no longer the old one's."""
    gw1_user, gw1_secret = await world.device("gw-1")
    gw2_user, gw2_secret = await world.device("gw-2")
    await world.device("plc-1", gateway="gw-1")
    gw1 = await login(world.port, gw1_user, gw1_secret)
    gw2 = await login(world.port, gw2_user, gw2_secret)
    gw1.publish("helan/v1/acme/plc-1/telemetry", telemetry(1.0))
    await eventually(lambda: world.stored("plc-1") == 1, 5)

    sync = world.platform.mosquitto
    assert sync is not None
    reloads = sync.status.reloads
    r = await world.http.patch(
        "/api/v1/tenants/acme/devices/plc-1", json={"gateway": "gw-2"}, headers=world.headers
    )
    assert r.status_code == 200, r.text
    await eventually(lambda: sync.status.reloads > reloads, 5)

    async def gw2_publishes() -> bool:
        gw2.publish("helan/v1/acme/plc-1/telemetry", telemetry(2.0))
        await asyncio.sleep(0.2)
        return world.stored("plc-1") >= 2

    deadline = time.monotonic() + 5
    while not await gw2_publishes():  # Mosquitto reloads on its next loop pass
        assert time.monotonic() < deadline, "gw-2 cannot publish for its new child"
    stored = world.stored("plc-1")
    gw1.publish("helan/v1/acme/plc-1/telemetry", telemetry(3.0)).wait_for_publish(5)
    gw1.publish("helan/v1/acme/gw-1/telemetry", telemetry(4.0))  # its own: still allowed
    await eventually(lambda: world.stored("gw-1") == 1, 5)
    await asyncio.sleep(0.3)
    assert world.stored("plc-1") == stored
    gw1.close()
    gw2.close()


async def test_pre_migration_device_reaches_mosquitto_after_rotation(world: World) -> None:
    """A device whose credential has no Mosquitto hash (issued before migration 0006) is not in
    the password file; the API says so; rotating its credential lets it in."""
    user, secret = await world.device("old")
    await login(world.port, user, secret)  # created now: it has a hash
    with world.platform.meta.session() as s:
        s.get(DeviceRow, ("acme", "old")).broker_hash = None  # type: ignore[union-attr]
    await refused(world.port, user, secret)
    r = await world.http.get("/api/v1/tenants/acme/devices/old", headers=world.headers)
    assert r.json()["broker_credential"] is False
    sync = world.platform.mosquitto
    assert sync is not None
    assert sync.status.without_broker_hash == ["acme/old"]
    rotated = await world.post("/api/v1/tenants/acme/devices/old/credentials")
    dev = await login(world.port, user, str(rotated["password"]))
    dev.close()
    assert sync.status.without_broker_hash == []
    r = await world.http.get("/api/v1/tenants/acme/devices/old", headers=world.headers)
    assert r.json()["broker_credential"] is True


async def test_platform_without_userinfo_waits_for_its_login(operator_setup: Settings) -> None:
    """HELAN_MQTT_URL without user:secret: the platform writes its per-process login and
    reloads Mosquitto before its ingest connects (gmqtt gives up on a refused login), and
    checks with a probe login that the reload took effect."""
    port = broker_address(operator_setup.mqtt_url).port
    settings = operator_setup.model_copy(update={"mqtt_url": f"mqtt://127.0.0.1:{port}"})
    platform = Platform.build(settings)
    try:
        await platform.start()  # the ingest's connect would raise if refused
        assert platform.mosquitto is not None
        assert SERVICE_USERNAME in logins(platform.mosquitto)
        assert "helan-svc" not in logins(platform.mosquitto)
        address = broker_address(platform.mqtt_url)
        assert await login_accepted(address)
        assert not await login_accepted(dataclasses.replace(address, password="guess"))
        with platform.meta.session() as s:
            s.add(Tenant(id="acme", name="A"))
        secret = await asyncio.to_thread(add_device, platform.meta, "acme", "pump-1")
        dev = await login(port, "pump-1@acme", secret)
        dev.publish("helan/v1/acme/pump-1/events", b'{"door": "open"}').wait_for_publish(5)
        assert platform.mqtt is not None
        await eventually(lambda: platform.mqtt.acknowledged >= 1, 5)  # type: ignore[union-attr]
        dev.close()
    finally:
        await platform.stop()
