"""Keep an external Mosquitto's password and ACL files in step with the device directory.

Mosquitto reads ``password_file`` and ``acl_file`` when it starts and on ``SIGHUP``, and cannot
ask Helan; so after every commit that touches devices or tenants (``MetaStore.on_change``) this
service rewrites both files from the metadata database (each atomically, mode 0600) and signals
the process named by the pid file. A burst of changes (a script creating 1,000 devices) becomes
a few rewrites: a rewrite waits until changes pause for ``quiet_s``, but never more than
``max_delay_s``. Failures (unwritable directory, no Mosquitto behind the pid file) are logged,
counted in :attr:`MosquittoAuthSync.status` and retried on the next change and every
``resync_s``; the periodic pass also picks up changes committed by other processes
(``helan admin``). Nothing here ever raises into the platform.

Only active devices (enabled, tenant active) whose credential has a Mosquitto hash are written:
a credential issued before migration 0006 has none (its plaintext was never kept), so that
device keeps working with the embedded broker and reaches Mosquitto once it is rotated.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import os
import secrets
import signal
import ssl
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import sqlalchemy as sa

from helan.connect.mqtt.mosquitto_auth import (
    BrokerUser,
    acl_file,
    mosquitto_conf,
    password_file,
    password_hash,
    password_matches,
    problem,
    write_atomic,
)
from helan.connect.mqtt.service import BrokerAddress, broker_address
from helan.core.tasks import cancel, wait_set
from helan.storage.meta.directory import device_username
from helan.storage.meta.models import Device, Tenant

if TYPE_CHECKING:
    from helan.config import Settings
    from helan.storage.meta.store import Changes, MetaStore

log = logging.getLogger(__name__)

CHANGE_TABLES = frozenset({"devices", "tenants"})
PASSWD, ACL, CONF = "passwd", "acl", "mosquitto.conf"
_EXAMPLES = 5  # device names quoted in a log line


class ReloadFailed(Exception):
    """Mosquitto could not be told to reload; the message says why and what to check."""


@dataclass
class SyncStatus:
    """What the last passes did, for operators and tests."""

    ok: bool = False  # the last pass wrote the files and reloaded Mosquitto (if configured)
    writes: int = 0  # times the files were rewritten
    reloads: int = 0  # SIGHUPs sent
    failures: int = 0  # passes that failed (each retried)
    last_error: str | None = None
    last_ok_at: datetime | None = None
    users: int = 0  # logins in the password file: the platform's service and the devices
    without_broker_hash: list[str] = field(default_factory=list)  # "tenant/device", pre-0006
    unwritable: list[str] = field(default_factory=list)  # ids Mosquitto's files cannot hold


class _Rendered(NamedTuple):
    passwd: str
    acl: str
    users: int
    no_hash: list[str]
    unwritable: list[str]


class MosquittoAuthSync:
    def __init__(
        self,
        meta: MetaStore,
        directory: Path,
        *,
        broker: BrokerAddress,
        pid_file: Path | None = None,
        bind: str | None = None,
        quiet_s: float = 0.2,
        max_delay_s: float = 2.0,
        resync_s: float = 30.0,
        probe_s: float = 5.0,
    ) -> None:
        self.meta = meta
        self.directory = directory
        self.broker = broker  # the platform's own login (and where Mosquitto listens)
        self.pid_file = pid_file
        self.bind = bind  # of the generated mosquitto.conf; None: every interface
        self.quiet_s = quiet_s
        self.max_delay_s = max_delay_s
        self.resync_s = resync_s
        self.probe_s = probe_s
        self.status = SyncStatus()
        self._service_hash: str | None = None
        self._written: tuple[str, str] | None = None
        self._reload_pending = False
        self._dirty = asyncio.Event()
        self._lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listening = False
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, meta: MetaStore, settings: Settings, mqtt_url: str) -> MosquittoAuthSync:
        if settings.mosquitto_auth_dir is None:
            raise ValueError("HELAN_MOSQUITTO_AUTH_DIR is not set")
        return cls(
            meta,
            settings.mosquitto_auth_dir,
            broker=broker_address(mqtt_url),
            pid_file=settings.mosquitto_pid_file,
        )

    @property
    def passwd_path(self) -> Path:
        return self.directory / PASSWD

    @property
    def acl_path(self) -> Path:
        return self.directory / ACL

    @property
    def conf_path(self) -> Path:
        return self.directory / CONF

    async def start(self) -> None:
        """Write the files and reload Mosquitto now, then follow every change. When the reload
        was sent, wait (up to ``probe_s``) until Mosquitto takes the platform's own login, so
        the ingest that connects next is not refused by a broker still on the old files."""
        self._loop = asyncio.get_running_loop()
        if not self._listening:
            self.meta.on_change(self._on_change)
            self._listening = True
        if self.pid_file is None:
            log.warning(
                "HELAN_MOSQUITTO_PID_FILE is not set: after each change to %s, reload "
                "Mosquitto yourself (kill -HUP)",
                self.directory,
            )
        reloads = self.status.reloads
        await self.sync(reload=True)
        if self.status.reloads > reloads:
            await self._await_service_login()
        self._task = asyncio.create_task(self._run(), name="mosquitto-auth-sync")

    async def stop(self) -> None:
        self._loop = None  # the store keeps its listeners: make ours a no-op
        await cancel(self._task)
        self._task = None

    async def sync(self, *, reload: bool = False, notify: bool = True) -> bool:
        """One pass: rewrite the files if their content changed and reload Mosquitto if they
        were rewritten (or ``reload``, or an earlier reload failed). ``notify`` False: leave
        Mosquitto alone (not started yet). Never raises."""
        async with self._lock:
            try:
                rendered = await asyncio.to_thread(self._render)
            except sa.exc.SQLAlchemyError as exc:  # the database is down: retried next pass
                return self._failed(f"cannot read the device directory: {exc}")
            files = self._report(rendered)
            try:
                wrote = await asyncio.to_thread(self._write, files)
            except OSError as exc:
                return self._failed(f"cannot write Mosquitto's files in {self.directory}: {exc}")
            if wrote:
                self.status.writes += 1
                self._reload_pending = True
            if reload:
                self._reload_pending = True
            if self._reload_pending and self.pid_file is not None and notify:
                try:
                    self._signal(self.pid_file)
                except ReloadFailed as exc:
                    return self._failed(str(exc))
                self.status.reloads += 1
            self._reload_pending = False
            if not self.status.ok and self.status.failures:
                log.info("Mosquitto auth files in %s are in step again", self.directory)
            self.status.ok = True
            self.status.last_error = None
            self.status.last_ok_at = datetime.now(UTC)
            return True

    def _on_change(self, changes: Changes) -> None:
        """Called in the committing thread: only wake the loop."""
        loop = self._loop
        if loop is None or not changes.keys() & CHANGE_TABLES:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self._dirty.set)

    async def _run(self) -> None:
        while True:
            await wait_set(self._dirty, self.resync_s)
            if self._dirty.is_set():
                await self._settle()
            try:
                await self.sync()
            except Exception:  # a bug here must not end the following: next pass retries
                self.status.failures += 1
                log.exception("Mosquitto auth sync failed")

    async def _settle(self) -> None:
        """Wait until changes pause for ``quiet_s``, or ``max_delay_s`` has passed since the
        first: one rewrite for a burst, and a bounded delay while the burst goes on."""
        loop = asyncio.get_running_loop()
        first = loop.time()
        while True:
            self._dirty.clear()
            await asyncio.sleep(self.quiet_s)
            if not self._dirty.is_set() or loop.time() - first >= self.max_delay_s:
                return

    def _failed(self, message: str) -> bool:
        if message != self.status.last_error:
            log.error("Mosquitto auth sync failed (retried on the next change): %s", message)
        self.status.ok = False
        self.status.failures += 1
        self.status.last_error = message
        return False

    def _service_user(self) -> BrokerUser | None:
        """The platform's own login (from ``mqtt_url``); its hash is kept from the file already
        there when it still matches, so a restart changes nothing."""
        if self._service_hash is None:
            self._service_hash = self._existing_service_hash() or password_hash(
                self.broker.password
            )
        user = BrokerUser(self.broker.username, self._service_hash)
        if (why := problem(user)) is not None:
            log.error("the platform's broker login is left out of %s: %s", PASSWD, why)
            return None
        return user

    def _existing_service_hash(self) -> str | None:
        prefix = f"{self.broker.username}:"
        with contextlib.suppress(OSError, UnicodeDecodeError):
            for line in self.passwd_path.read_text().splitlines():
                if line.startswith(prefix):
                    hashed = line[len(prefix) :]
                    return hashed if password_matches(self.broker.password, hashed) else None
        return None

    def _render(self) -> _Rendered:
        """Both files' text from the database (blocking)."""
        stmt = sa.select(
            Device.tenant_id,
            Device.id,
            Device.gateway_id,
            Device.enabled,
            Device.broker_hash,
            Tenant.status,
        ).join(Tenant, Tenant.id == Device.tenant_id)
        with self.meta.session() as s:
            rows = sorted(s.execute(stmt).all())
        children: dict[tuple[str, str], set[str]] = defaultdict(set)
        for tenant, device, gateway, *_ in rows:
            if gateway is not None:
                children[(tenant, gateway)].add(device)
        service = self._service_user()
        users = [service] if service is not None else []
        no_hash: list[str] = []
        unwritable: list[str] = []
        for tenant, device, _, enabled, hashed, status in rows:
            if not enabled or status != "active":
                continue  # the embedded broker refuses them too
            if hashed is None:
                no_hash.append(f"{tenant}/{device}")
                continue
            user = BrokerUser(
                device_username(tenant, device),
                hashed,
                tenant,
                device,
                frozenset(children.get((tenant, device), ())),
            )
            if problem(user) is not None:
                unwritable.append(f"{tenant}/{device}")
                continue
            users.append(user)
        return _Rendered(password_file(users), acl_file(users), len(users), no_hash, unwritable)

    def _report(self, rendered: _Rendered) -> tuple[str, str]:
        """Log who is left out (when that changes), update the status, return the files."""
        no_hash, unwritable = rendered.no_hash, rendered.unwritable
        if no_hash != self.status.without_broker_hash and no_hash:
            log.warning(
                "%d active device(s) cannot log in to Mosquitto: their credential was issued "
                "before Mosquitto hashes were stored (migration 0006), e.g. %s; they still work "
                "with the embedded broker; rotate them (POST .../devices/{device}/credentials)",
                len(no_hash),
                ", ".join(no_hash[:_EXAMPLES]),
            )
        if unwritable != self.status.unwritable and unwritable:
            log.warning(
                "%d device(s) cannot be written to Mosquitto's files (a username may not "
                "contain ':', blanks, '#', '+' or '/'), e.g. %s; they can use the embedded broker",
                len(unwritable),
                ", ".join(unwritable[:_EXAMPLES]),
            )
        self.status.without_broker_hash = no_hash
        self.status.unwritable = unwritable
        self.status.users = rendered.users
        return rendered.passwd, rendered.acl

    def _write(self, files: tuple[str, str]) -> bool:
        """Write what changed (blocking); a first ``mosquitto.conf`` too when there is none."""
        if self._written is None:
            self._written = (_read(self.passwd_path), _read(self.acl_path))
        self.directory.mkdir(parents=True, exist_ok=True)
        if not self.conf_path.exists():
            write_atomic(self.conf_path, self._conf())
            log.info("wrote %s: start Mosquitto with -c %s", self.conf_path, self.conf_path)
        if files == self._written:
            return False
        passwd, acl = files
        # ACL first: should Mosquitto reload between the two renames (someone else's SIGHUP), a
        # new login is not let in before its topic rules are there.
        if acl != self._written[1]:
            write_atomic(self.acl_path, acl)
            self._written = (self._written[0], acl)
        if passwd != self._written[0]:
            write_atomic(self.passwd_path, passwd)
            self._written = (passwd, acl)
        return True

    def _conf(self) -> str:
        """Mosquitto settings for this directory: the files, the queue limits ingest needs,
        persistence here, the pid file the reload signal goes to, and (when Mosquitto starts as
        root) this process's user, who owns the 0600 files."""
        return mosquitto_conf(
            port=self.broker.port,
            password_path=self.passwd_path.resolve(),
            acl_path=self.acl_path.resolve(),
            bind=self.bind,
            persistence_dir=self.directory.resolve(),
            user=getpass.getuser(),
            pid_file=self.pid_file.resolve() if self.pid_file is not None else None,
        )

    @staticmethod
    def _signal(pid_file: Path) -> None:
        try:
            text = pid_file.read_text().strip()
        except FileNotFoundError:
            raise ReloadFailed(
                f"pid file {pid_file} does not exist: is Mosquitto running with "
                f"'pid_file {pid_file}'? (it reads the files when it starts)"
            ) from None
        except OSError as exc:
            raise ReloadFailed(f"cannot read pid file {pid_file}: {exc}") from None
        if not text.isdigit() or int(text) <= 1:
            raise ReloadFailed(f"pid file {pid_file} holds {text[:20]!r}, not a process id")
        pid = int(text)
        not_running = (
            f"no process {pid} (pid file {pid_file}): Mosquitto is not running; "
            "it reads the files when it starts"
        )
        # A stale pid file may name an unrelated process, which SIGHUP would terminate.
        try:
            name: str | None = Path(f"/proc/{pid}/comm").read_text().strip()
        except FileNotFoundError:
            if Path("/proc/self").exists():
                raise ReloadFailed(not_running) from None
            name = None  # no procfs: cannot tell
        except OSError:
            name = None
        if name is not None and name != "mosquitto":
            raise ReloadFailed(
                f"process {pid} (pid file {pid_file}) is {name!r}, not mosquitto: not signalled"
            )
        try:
            os.kill(pid, signal.SIGHUP)
        except ProcessLookupError:
            raise ReloadFailed(not_running) from None
        except PermissionError:
            raise ReloadFailed(
                f"not allowed to signal Mosquitto (pid {pid}): run Helan as Mosquitto's user"
            ) from None

    async def _await_service_login(self) -> None:
        """Mosquitto reloads on its next loop pass, not before ``kill`` returns: poll with the
        platform's login until it is taken."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.probe_s
        where = f"{self.broker.host}:{self.broker.port}"
        while True:
            try:
                if await login_accepted(self.broker):
                    return
            except OSError as exc:
                log.warning("Mosquitto at %s is not reachable: %s", where, exc)
                return
            if loop.time() > deadline:
                log.warning(
                    "Mosquitto at %s still refuses the platform's login %r %.0f s after the "
                    "reload: is it using %s?",
                    where,
                    self.broker.username,
                    self.probe_s,
                    self.conf_path,
                )
                return
            await asyncio.sleep(0.05)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return ""


async def login_accepted(address: BrokerAddress, timeout_s: float = 2.0) -> bool:
    """One MQTT 3.1.1 CONNECT with ``address``'s login: True when the broker accepts it, False
    when it refuses; OSError when nothing listens. Clean session, disconnected at once."""

    def string(value: str) -> bytes:
        raw = value.encode()
        return len(raw).to_bytes(2, "big") + raw

    flags = 0x80 | 0x40 | 0x02  # username, password, clean session
    body = (
        string("MQTT")
        + bytes([4, flags])
        + (10).to_bytes(2, "big")  # keep alive
        + string(f"helan-auth-probe-{secrets.token_hex(4)}")
        + string(address.username)
        + string(address.password)
    )
    length, size = bytearray(), len(body)
    while True:
        size, byte = divmod(size, 128)
        length.append(byte | (0x80 if size else 0))
        if not size:
            break
    context = ssl.create_default_context() if address.tls else None
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(address.host, address.port, ssl=context), timeout_s
    )
    try:
        writer.write(bytes([0x10]) + bytes(length) + body)
        await writer.drain()
        ack = await asyncio.wait_for(reader.readexactly(4), timeout_s)
        accepted = ack[0] == 0x20 and ack[3] == 0
        if accepted:
            writer.write(b"\xe0\x00")  # DISCONNECT
            await writer.drain()
        return accepted
    except (asyncio.IncompleteReadError, TimeoutError, ConnectionResetError):
        return False
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
