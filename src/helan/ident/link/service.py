"""The platform's embedded enterprise identifier node, kept in step with the metadata.

Tenants' prefixes are the prefixes the node homes; every device and product of such a tenant
whose identifier lies under the tenant's prefix has a record (see ``records``). After each
metadata commit that touches tenants, devices, device types or products, the affected records
are rewritten or deleted in the committing thread, so a REST call that changed a device or a
product returns after its record changed too. At start, :meth:`IdentLink.reconcile` repairs
what a crash or another process left behind: which records the platform wrote is kept in the
node's store itself, under keys that start with a NUL byte (no handle can), so stale ones are
found without scanning every handle.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, aliased
from starlette.routing import BaseRoute

from helan.config import Settings
from helan.ident.errors import HandleError
from helan.ident.link.records import (
    DESCRIPTION_INDEX,
    DEVICE_TYPE,
    PRODUCT_TYPE,
    TENANT_TYPE,
    TRACE_INDEX,
    URL_INDEX,
    DeviceFacts,
    ProductFacts,
    device_values,
    prefix_values,
    product_values,
    same_values,
)
from helan.ident.link.rules import is_under
from helan.ident.model import Handle, HandleValue, SiteInfo, prefix_handle
from helan.ident.node import Node, Role
from helan.ident.registry import ADMIN_INDEX, SECKEY_INDEX, SITE_INDEX, Registry
from helan.ident.server.listeners import Listener
from helan.ident.store.lmdb import LmdbStore
from helan.ident.trust.signing import PUBKEY_INDEX, Signer
from helan.security.crypto.sm2 import PrivateKey, SM2Error
from helan.storage.meta.models import Device, DeviceType, Product, Tenant
from helan.storage.meta.store import Changes, MetaStore

log = logging.getLogger(__name__)

WATCHED = frozenset({"tenants", "devices", "device_types", "products"})
# Indexes whose values the platform owns (in device and product records alike); values others
# add elsewhere are kept (TRACE_INDEX: a product's trace service, docs/trace.md).
OBJECT_INDEXES = frozenset({URL_INDEX, DESCRIPTION_INDEX, TRACE_INDEX, ADMIN_INDEX})
PREFIX_INDEXES = frozenset({SITE_INDEX, DESCRIPTION_INDEX, ADMIN_INDEX, SECKEY_INDEX, PUBKEY_INDEX})
# The description types that mark a record as a platform object's (see ``_record``).
OBJECT_TYPES = frozenset({DEVICE_TYPE, PRODUCT_TYPE})
_DEVICE_KEY = b"\x00helan-device\x00"  # + tenant NUL device -> identifier
_PRODUCT_KEY = b"\x00helan-product\x00"  # + tenant NUL product -> identifier
_PREFIX_KEY = b"\x00helan-prefix\x00"  # + tenant -> prefix
_PAGE = 10_000
_IN_CHUNK = 500  # ids per IN list when loading products by key

Key = tuple[str, str]  # (tenant, device or product id)
# What a record should say: the identifier it lives at and the platform's values there.
Wanted = dict[Key, tuple[str, list[HandleValue]]]


@dataclass
class _Published:
    """The records of one kind of platform object: which object was published under which
    identifier, mirrored in the node's store under ``index_key``."""

    index_key: bytes
    description_type: str
    entries: dict[Key, str] = field(default_factory=dict)

    def key(self, key: Key) -> bytes:
        return self.index_key + f"{key[0]}\x00{key[1]}".encode()

    def split(self, raw: bytes) -> Key:
        tenant, _, own_id = raw[len(self.index_key) :].decode().partition("\x00")
        return tenant, own_id


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


def signer_of(settings: Settings) -> Signer | None:
    """The embedded node's SM2 signer, from ``ident_sign_key``; a bad key stops the start."""
    raw = settings.ident_sign_key.get_secret_value().strip()
    if not raw:
        return None
    try:
        return Signer(PrivateKey.from_hex(raw))
    except SM2Error as exc:
        raise ValueError(f"HELAN_IDENT_SIGN_KEY: {exc}") from None


class IdentLink:
    def __init__(self, meta: MetaStore, settings: Settings) -> None:
        self.meta = meta
        self.base_url = settings.public_base_url
        self.host = settings.http_host
        self.port = settings.ident_port
        self.secret = settings.ident_admin_secret.get_secret_value().encode()
        self.site = SiteInfo.single(site_address(settings), self.port) if self.port else None
        self.store = LmdbStore(settings.data_dir / "ident")
        self.signer = signer_of(settings)
        self.registry = Registry(self.store, homed=(), signer=self.signer)
        self.node = Node(self.store, role=Role.ENTERPRISE, homed=(), site=self.site)
        self.registry.listeners.append(self.node.answers.invalidate)
        self.listener: Listener | None = None
        self.failures = 0  # syncs that raised (logged); the next reconcile repairs them
        # Records not written because a device's and a product's identifier met (logged): the
        # rules refuse that, so only a race or a change behind the API's back gets here.
        self.clashes = 0
        self._lock = threading.RLock()
        self._prefixes: dict[str, str] = {}  # tenant -> prefix
        self._devices = _Published(_DEVICE_KEY, DEVICE_TYPE)
        self._products = _Published(_PRODUCT_KEY, PRODUCT_TYPE)
        # Every device's identifier, as product records quote it (made_by): a device change
        # rewrites the records of the products it made only when this changed.
        self._device_idents: dict[Key, str | None] = {}
        # Prefixed tenants' names, as records quote them: a tenant change rewrites its records
        # only when this or its prefix changed (not for its retention, say).
        self._tenant_names: dict[str, str] = {}
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
            for published in (self._devices, self._products):
                index = self._index(published.index_key)
                published.entries = {published.split(k): v for k, v in index}
            self._prefixes = {
                k[len(_PREFIX_KEY) :].decode(): v for k, v in self._index(_PREFIX_KEY)
            }
            self._refresh_tenants()
            self._device_idents = self._load_device_identifiers(None)
            self._sync(
                (self._devices, self._load_devices(None), set(self._devices.entries)),
                (self._products, self._load_products([None]), set(self._products.entries)),
            )

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
                products = {(k[0], k[1]) for k in changes.get("products") or ()}
                if tenants:  # records quote only the tenant's prefix and name
                    tenants &= self._refresh_tenants()
                where = []
                if devices:
                    where.append(_pairs(Device.tenant_id, Device.id, devices))
                if tenants:
                    where.append(Device.tenant_id.in_(list(tenants)))
                if types:
                    where.append(_pairs(Device.tenant_id, Device.device_type_id, types))
                stale = devices & self._devices.entries.keys()
                if tenants:  # rare: a walk over every published device is fine
                    stale |= {k for k in self._devices.entries if k[0] in tenants}
                fresh = self._load_devices(sa.or_(*where)) if where else {}
                # Products: the changed ones, the members of a changed batch (the batch's
                # identifier is in their record), those made by a device whose identifier
                # changed (likewise; a device may have made millions, renaming it is cheap).
                makers = self._moved_devices(devices) if devices else set()
                product_where = [
                    *_by_tenant(Product.tenant_id, Product.id, products),
                    *_by_tenant(Product.tenant_id, Product.batch_id, products),
                    *_by_tenant(Product.tenant_id, Product.made_by_id, makers),
                ]
                if tenants:
                    product_where.append(Product.tenant_id.in_(list(tenants)))
                product_stale = products & self._products.entries.keys()
                if tenants:
                    product_stale |= {k for k in self._products.entries if k[0] in tenants}
                wanted = self._load_products(product_where) if product_where else {}
                self._sync((self._devices, fresh, stale), (self._products, wanted, product_stale))
        except Exception:
            self.failures += 1
            log.exception("identifier records out of step with metadata; reconciled at start")

    def _moved_devices(self, devices: set[Key]) -> set[Key]:
        """Which of ``devices`` (just changed) now have another identifier than before (new
        and deleted devices included), remembering the new ones."""
        now = self._load_device_identifiers(devices)
        moved = {key for key in devices if self._device_idents.get(key) != now.get(key)}
        for key in devices:
            if key in now:
                self._device_idents[key] = now[key]
            else:
                self._device_idents.pop(key, None)
        return moved

    def _refresh_tenants(self) -> set[str]:
        """Home the prefixed tenants' prefixes as the metadata has them now; the tenants whose
        prefix or name changed (gained or lost included)."""
        with self.meta.session() as s:
            rows = s.execute(
                sa.select(Tenant.id, Tenant.ident_prefix, Tenant.name).where(
                    Tenant.ident_prefix.is_not(None)
                )
            ).all()
        prefixes = {tenant: prefix for tenant, prefix, _ in rows if prefix}
        names = {tenant: name for tenant, prefix, name in rows if prefix}
        known = prefixes.keys() | self._prefixes.keys()
        changed = {
            t
            for t in known
            if prefixes.get(t) != self._prefixes.get(t) or names.get(t) != self._tenant_names.get(t)
        }
        self._set_prefixes(prefixes)
        self._tenant_names = names
        return changed

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
            pubkey = self.signer.pubkey_value() if self.signer is not None else None
            values = prefix_values(prefix, tenant, self.site, self.secret, pubkey)
            handle = Handle.parse(prefix_handle(prefix))
            writes += self._record(handle, values, PREFIX_INDEXES, TENANT_TYPE) or []
        self._write(writes)
        self._prefixes = dict(wanted)

    def _sync(self, *parts: tuple[_Published, Wanted, set[Key]]) -> None:
        """Per kind: records the objects ``wanted``, removes those of ``stale`` objects gone or
        moved. Every removal comes before every write, so an identifier handed from a device to
        a product (or back) behind the API's back moves instead of clashing; two objects
        wanting one handle (only possible behind the rules' back) get it first come, devices
        first, and the other is counted in ``clashes``."""
        for published, wanted, stale in parts:
            for key in stale:
                ident = published.entries.get(key)
                if ident is not None and (key not in wanted or wanted[key][0] != ident):
                    self._unpublish(published, key, ident)
        writes: list[tuple[bytes, bytes]] = []
        claimed: set[bytes] = set()  # handles written by this sync: a second claim is a clash
        for published, wanted, _ in parts:
            for key, (ident, values) in wanted.items():
                handle = Handle.parse(ident)
                if handle.key in claimed:
                    self._clash(handle, f"another {published.description_type}")
                    continue
                record = self._record(handle, values, OBJECT_INDEXES, published.description_type)
                if record is None:
                    continue
                claimed.add(handle.key)
                if published.entries.get(key) != ident:
                    writes.append((published.key(key), ident.encode()))
                    published.entries[key] = ident
                writes += record
        self._write(writes)

    def _unpublish(self, published: _Published, key: Key, ident: str) -> None:
        try:
            self._delete(Handle.parse(ident))
        except HandleError:  # an index entry that never named a valid handle: drop it
            log.warning("dropping invalid identifier index entry %r", ident)
        self.store.delete(published.key(key))
        del published.entries[key]

    def _record(
        self,
        handle: Handle,
        managed: list[HandleValue],
        owned: frozenset[int],
        description_type: str,
    ) -> list[tuple[bytes, bytes]] | None:
        """The write that gives ``handle`` the platform's values, keeping values others added
        at indexes not ``owned``; none when the stored record already says that. None when the
        record is another kind of platform object's (a device's, for a product): never
        overwritten, whatever slipped past the rules."""
        found = self.registry.get_with_name(handle)
        kept = [v for v in found[1] if v.index not in owned] if found else []
        if found is not None:
            holder = {v.type for v in found[1] if v.index == DESCRIPTION_INDEX} & OBJECT_TYPES
            if holder and description_type not in holder:
                self._clash(handle, holder.pop())
                return None
        values = [*managed, *kept]
        if found is not None and found[0] == str(handle) and same_values(found[1], values):
            return []
        self.registry.validate(handle, values)
        record = self.registry.seal(str(handle), self.registry.prepare(values))
        return [(handle.key, record)]

    def _clash(self, handle: Handle, holder: str) -> None:
        self.clashes += 1
        log.warning("%s is held by a %s record: not rewritten", handle, holder)

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
    def _load_devices(self, where: sa.ColumnElement[bool] | None) -> Wanted:
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
            if _publishable(facts.prefix, facts.identifier):
                values = device_values(facts, self.base_url)
                out[(facts.tenant, facts.device)] = (facts.identifier, values)
        return out

    def _load_device_identifiers(self, keys: set[Key] | None) -> dict[Key, str | None]:
        """The identifiers of the devices ``keys`` that exist (None: of every device)."""
        stmt = sa.select(Device.tenant_id, Device.id, Device.identifier)
        wheres: list[sa.ColumnElement[bool] | None] = [None]
        if keys is not None:
            wheres = [*_by_tenant(Device.tenant_id, Device.id, keys)]
        out: dict[Key, str | None] = {}
        with self.meta.session() as s:
            for where in wheres:
                rows = s.execute(stmt if where is None else stmt.where(where)).all()
                out.update({(tenant, device): ident for tenant, device, ident in rows})
        return out

    def _load_products(self, wheres: Iterable[sa.ColumnElement[bool] | None]) -> Wanted:
        """The records of the products matching any of ``wheres`` (None: all), one query each,
        so that no statement outgrows the database's parameter limit."""
        batch = aliased(Product)
        stmt = (
            sa.select(
                Product.tenant_id,
                Tenant.name,
                Tenant.ident_prefix,
                Product.id,
                Product.identifier,
                Product.name,
                Product.model,
                Product.kind,
                batch.identifier,
                Device.identifier,
                Product.produced_at,
            )
            .join(Tenant, Tenant.id == Product.tenant_id)
            .outerjoin(
                batch, sa.and_(batch.tenant_id == Product.tenant_id, batch.id == Product.batch_id)
            )
            .outerjoin(
                Device,
                sa.and_(Device.tenant_id == Product.tenant_id, Device.id == Product.made_by_id),
            )
            .where(Tenant.ident_prefix.is_not(None), Product.identifier.is_not(None))
        )
        out: Wanted = {}
        with self.meta.session() as s:
            for where in wheres:
                rows = s.execute(stmt if where is None else stmt.where(where)).all()
                for row in rows:
                    if (row[0], row[3]) in out:  # matched by an earlier where too
                        continue
                    facts = ProductFacts(
                        tenant=row[0],
                        tenant_name=row[1],
                        prefix=row[2] or "",
                        product=row[3],
                        identifier=row[4] or "",
                        name=row[5],
                        model=row[6],
                        kind=row[7],
                        batch_identifier=row[8],
                        made_by_identifier=row[9],
                        produced_at=row[10],
                    )
                    if _publishable(facts.prefix, facts.identifier):
                        values = product_values(facts, self.base_url)
                        out[(facts.tenant, facts.product)] = (facts.identifier, values)
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
    first: InstrumentedAttribute[Any], second: InstrumentedAttribute[Any], keys: set[Key]
) -> sa.ColumnElement[bool]:
    """``(first, second) IN keys``, spelled so that SQLite uses the index for a few keys (it
    scans the table for a row-value IN)."""
    if len(keys) > 50:
        return sa.tuple_(first, second).in_(list(keys))
    return sa.or_(*(sa.and_(first == a, second == b) for a, b in keys))


def _by_tenant(
    first: InstrumentedAttribute[Any], second: InstrumentedAttribute[Any], keys: set[Key]
) -> list[sa.ColumnElement[bool]]:
    """``(first, second) IN keys`` as one ``first = t AND second IN (...)`` per tenant and
    chunk: each uses an index leading with the tenant, and none has too many parameters (a bulk
    create changes 10,000 products in one commit)."""
    by_tenant: dict[str, list[str]] = {}
    for tenant, own_id in keys:
        by_tenant.setdefault(tenant, []).append(own_id)
    return [
        sa.and_(first == tenant, second.in_(ids[n : n + _IN_CHUNK]))
        for tenant, ids in by_tenant.items()
        for n in range(0, len(ids), _IN_CHUNK)
    ]


def _publishable(prefix: str, identifier: str) -> bool:
    """Identifiers that are valid handles under the tenant's prefix (ones set before the tenant
    had a prefix may be neither: they stay in the metadata but are not served)."""
    try:
        handle = Handle.parse(identifier)
    except HandleError:
        return False
    return is_under(prefix, handle.prefix)
