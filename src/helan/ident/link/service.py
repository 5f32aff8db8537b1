"""The platform's embedded enterprise identifier node, kept in step with the metadata.

Tenants' prefixes are the prefixes the node homes; every device of such a tenant whose
identifier lies under the tenant's prefix has a record (see ``records``). After each metadata
commit that touches tenants, devices or device types, the affected records are rewritten or
deleted in the committing thread, so a REST call that changed a device returns after its record
changed too. At start, :meth:`IdentLink.reconcile` repairs what a crash or another process left
behind: which records the platform wrote is kept in the node's store itself, under keys that
start with a NUL byte (no handle can), so stale ones are found without scanning every handle.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute
from starlette.routing import BaseRoute

from helan.config import Settings
from helan.ident.errors import HandleError
from helan.ident.link.records import (
    DESCRIPTION_INDEX,
    URL_INDEX,
    DeviceFacts,
    device_values,
    prefix_values,
    same_values,
)
from helan.ident.link.rules import is_under
from helan.ident.model import Handle, HandleValue, SiteInfo, prefix_handle
from helan.ident.node import Node, Role
from helan.ident.registry import ADMIN_INDEX, SECKEY_INDEX, SITE_INDEX, Registry
from helan.ident.server.listeners import Listener
from helan.ident.store.lmdb import LmdbStore
from helan.storage.meta.models import Device, DeviceType, Tenant
from helan.storage.meta.store import Changes, MetaStore

log = logging.getLogger(__name__)

WATCHED = frozenset({"tenants", "devices", "device_types"})
# Indexes whose values the platform owns; values others add elsewhere are kept.
DEVICE_INDEXES = frozenset({URL_INDEX, DESCRIPTION_INDEX, ADMIN_INDEX})
PREFIX_INDEXES = frozenset({SITE_INDEX, DESCRIPTION_INDEX, ADMIN_INDEX, SECKEY_INDEX})
_DEVICE_KEY = b"\x00helan-device\x00"  # + tenant NUL device -> identifier
_PREFIX_KEY = b"\x00helan-prefix\x00"  # + tenant -> prefix
_PAGE = 10_000

DeviceKey = tuple[str, str]


def site_address(settings: Settings) -> str:
    """The IP address written into HS_SITE: the public URL's host or the bind address when
    either is a usable IP literal, else loopback (the parent's delegation is what outside
    resolvers follow; its administrator sets the reachable address there)."""
    for host in (urlsplit(settings.public_base_url).hostname, settings.http_host):
        try:
            ip = ipaddress.ip_address(host or "")
        except ValueError:
            continue
        if not ip.is_unspecified:
            return str(ip)
    return "127.0.0.1"


class IdentLink:
    def __init__(self, meta: MetaStore, settings: Settings) -> None:
        self.meta = meta
        self.base_url = settings.public_base_url
        self.host = settings.http_host
        self.port = settings.ident_port
        self.secret = settings.ident_admin_secret.get_secret_value().encode()
        self.site = SiteInfo.single(site_address(settings), self.port) if self.port else None
        self.store = LmdbStore(settings.data_dir / "ident")
        self.registry = Registry(self.store, homed=())
        self.node = Node(self.store, role=Role.ENTERPRISE, homed=(), site=self.site)
        self.registry.listeners.append(self.node.answers.invalidate)
        self.listener: Listener | None = None
        self.failures = 0  # syncs that raised (logged); the next reconcile repairs them
        self._lock = threading.RLock()
        self._prefixes: dict[str, str] = {}  # tenant -> prefix
        self._published: dict[DeviceKey, str] = {}  # (tenant, device) -> identifier
        self._closed = False
        meta.on_change(self._on_change)
        self.reconcile()

    # --- serving ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Open the Handle UDP and TCP listeners (none when ``ident_port`` is 0)."""
        if self.port:
            self.listener = Listener(self.host, self.port, sync=self.node.respond)
            await self.listener.start()
            log.info("identifier node on %s:%d (udp+tcp)", self.host, self.port)

    async def stop(self) -> None:
        if self.listener is not None:
            await self.listener.stop()
            self.listener = None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self.store.close()

    def rest_routes(self) -> list[BaseRoute]:
        """Handle.Net's REST API over this node (``/api/handles``, ``/api/bulk``,
        ``/api/templates``), to be served by the platform's HTTP server."""
        from helan.ident.rest.app import create_app

        return list(create_app(self.registry).routes)

    @property
    def prefixes(self) -> dict[str, str]:
        """Tenant id -> the prefix this node homes for it."""
        return dict(self._prefixes)

    # --- keeping in step -------------------------------------------------------------------
    def reconcile(self) -> None:
        """Make the node's records match the metadata, whatever happened before."""
        with self._lock:
            self._published = {_split_device_key(k): v for k, v in self._index(_DEVICE_KEY)}
            self._prefixes = {
                k[len(_PREFIX_KEY) :].decode(): v for k, v in self._index(_PREFIX_KEY)
            }
            self._set_prefixes(self._load_prefixes())
            self._sync(self._load_devices(None), stale=set(self._published))

    def _on_change(self, changes: Changes) -> None:
        if not changes.keys() & WATCHED:
            return
        try:
            with self._lock:
                if self._closed:  # the metadata store outlives us (no way to unsubscribe)
                    return
                if any(changes.get(t, ()) is None for t in WATCHED):
                    self.reconcile()
                    return
                tenants = {k[0] for k in changes.get("tenants") or ()}
                devices = {(k[0], k[1]) for k in changes.get("devices") or ()}
                types = {(k[0], k[1]) for k in changes.get("device_types") or ()}
                if tenants:
                    self._set_prefixes(self._load_prefixes())
                where = []
                if devices:
                    where.append(_pairs(Device.tenant_id, Device.id, devices))
                if tenants:
                    where.append(Device.tenant_id.in_(list(tenants)))
                if types:
                    where.append(_pairs(Device.tenant_id, Device.device_type_id, types))
                stale = devices & self._published.keys()
                if tenants:  # rare: a walk over every published device is fine
                    stale |= {k for k in self._published if k[0] in tenants}
                self._sync(self._load_devices(sa.or_(*where)), stale)
        except Exception:
            self.failures += 1
            log.exception("identifier records out of step with metadata; reconciled at start")

    def _set_prefixes(self, wanted: dict[str, str]) -> None:
        homed = {p.upper() for p in wanted.values()}
        self.registry.homed = set(homed)
        self.node.homed = set(homed)
        for tenant, old in self._prefixes.items():
            if wanted.get(tenant) != old:
                if old.upper() not in homed:
                    self._delete(Handle.parse(prefix_handle(old)))
                self.store.delete(_PREFIX_KEY + tenant.encode())
        writes: list[tuple[bytes, bytes]] = []
        for tenant, prefix in wanted.items():
            if self._prefixes.get(tenant) != prefix:
                writes.append((_PREFIX_KEY + tenant.encode(), prefix.encode()))
            values = prefix_values(prefix, tenant, self.site, self.secret)
            writes += self._record(Handle.parse(prefix_handle(prefix)), values, PREFIX_INDEXES)
        self._write(writes)
        self._prefixes = dict(wanted)

    def _sync(self, fresh: dict[DeviceKey, DeviceFacts], stale: set[DeviceKey]) -> None:
        for key in stale:
            ident = self._published.get(key)
            if ident is not None and (key not in fresh or fresh[key].identifier != ident):
                self._unpublish(key, ident)
        writes: list[tuple[bytes, bytes]] = []
        for key, facts in fresh.items():
            if self._published.get(key) != facts.identifier:
                writes.append((_device_key(key), facts.identifier.encode()))
                self._published[key] = facts.identifier
            values = device_values(facts, self.base_url)
            writes += self._record(Handle.parse(facts.identifier), values, DEVICE_INDEXES)
        self._write(writes)

    def _unpublish(self, key: DeviceKey, ident: str) -> None:
        try:
            self._delete(Handle.parse(ident))
        except HandleError:  # an index entry that never named a valid handle: drop it
            log.warning("dropping invalid identifier index entry %r", ident)
        self.store.delete(_device_key(key))
        del self._published[key]

    def _record(
        self, handle: Handle, managed: list[HandleValue], owned: frozenset[int]
    ) -> list[tuple[bytes, bytes]]:
        """The write that gives ``handle`` the platform's values, keeping values others added
        at indexes not ``owned``; none when the stored record already says that."""
        found = self.registry.get_with_name(handle)
        kept = [v for v in found[1] if v.index not in owned] if found else []
        values = [*managed, *kept]
        if found is not None and found[0] == str(handle) and same_values(found[1], values):
            return []
        self.registry.validate(handle, values)
        record = self.registry.seal(str(handle), self.registry.prepare(values))
        return [(handle.key, record)]

    def _write(self, items: list[tuple[bytes, bytes]]) -> None:
        """Records and index entries together, in as few transactions as the store allows."""
        if items:
            self.store.put_many(items)
            for key, _ in items:
                self.registry.changed(key)

    def _delete(self, handle: Handle) -> None:
        if self.store.delete(handle.key):
            self.registry.changed(handle.key)

    # --- reading the metadata and the index ------------------------------------------------
    def _load_prefixes(self) -> dict[str, str]:
        with self.meta.session() as s:
            rows = s.execute(
                sa.select(Tenant.id, Tenant.ident_prefix).where(Tenant.ident_prefix.is_not(None))
            ).all()
        return {tenant: prefix for tenant, prefix in rows if prefix}

    def _load_devices(self, where: sa.ColumnElement[bool] | None) -> dict[DeviceKey, DeviceFacts]:
        stmt = (
            sa.select(
                Device.tenant_id,
                Tenant.name,
                Tenant.ident_prefix,
                Device.id,
                Device.identifier,
                Device.name,
                Device.device_type_id,
                DeviceType.name,
                Device.vendor,
                Device.model,
            )
            .join(Tenant, Tenant.id == Device.tenant_id)
            .outerjoin(
                DeviceType,
                sa.and_(
                    DeviceType.tenant_id == Device.tenant_id,
                    DeviceType.id == Device.device_type_id,
                ),
            )
            .where(Tenant.ident_prefix.is_not(None), Device.identifier.is_not(None))
        )
        if where is not None:
            stmt = stmt.where(where)
        with self.meta.session() as s:
            rows = s.execute(stmt).all()
        out = {}
        for tenant, tenant_name, prefix, device, ident, name, tid, tid_name, vendor, model in rows:
            facts = DeviceFacts(
                tenant=tenant,
                tenant_name=tenant_name,
                prefix=prefix or "",
                device=device,
                identifier=ident or "",
                name=name,
                type_id=tid,
                type_name=tid_name,
                vendor=vendor,
                model=model,
            )
            if _publishable(facts):
                out[(facts.tenant, facts.device)] = facts
        return out

    def _index(self, key_prefix: bytes) -> Iterator[tuple[bytes, str]]:
        offset = 0
        while keys := self.store.scan(key_prefix, offset, _PAGE):
            for key in keys:
                value = self.store.get(key)
                if value is not None:
                    yield key, value.decode()
            offset += len(keys)


def _pairs(
    first: InstrumentedAttribute[Any], second: InstrumentedAttribute[Any], keys: set[DeviceKey]
) -> sa.ColumnElement[bool]:
    """``(first, second) IN keys``, spelled so that SQLite uses the index for a few keys (it
    scans the table for a row-value IN)."""
    if len(keys) > 50:
        return sa.tuple_(first, second).in_(list(keys))
    return sa.or_(*(sa.and_(first == a, second == b) for a, b in keys))


def _publishable(facts: DeviceFacts) -> bool:
    """Identifiers that are valid handles under the tenant's prefix (ones set before the tenant
    had a prefix may be neither: they stay in the metadata but are not served)."""
    try:
        handle = Handle.parse(facts.identifier)
    except HandleError:
        return False
    return is_under(facts.prefix, handle.prefix)


def _device_key(key: DeviceKey) -> bytes:
    return _DEVICE_KEY + f"{key[0]}\x00{key[1]}".encode()


def _split_device_key(key: bytes) -> DeviceKey:
    tenant, _, device = key[len(_DEVICE_KEY) :].decode().partition("\x00")
    return tenant, device
