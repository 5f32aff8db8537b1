"""The device directory the ingest path asks for every message, answered from memory.

Everything is loaded once; after each commit that touches devices, device types or tenants the
affected entries are reloaded (the store says which rows changed, and calls us from its
listener thread with the changes of every commit since the last call, so a burst of commits
costs one reload), and the committer waits for that, so a new or rotated credential works at
once. Other processes sharing the database call :meth:`refresh`. Which
devices each gateway connects for is kept alongside, for the broker's access rules.
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from helan.core.hashing import new_token, token_digest
from helan.core.thing import DataType, DeviceRef, EventSpec, MetricSpec, event_specs
from helan.storage.meta.models import Device, DeviceType, Tenant
from helan.storage.meta.store import Changes, MetaStore

log = logging.getLogger(__name__)

WATCHED = frozenset({"devices", "device_types", "tenants"})
_AUTH_CACHE_MAX = 100_000


def device_username(tenant: str, device: str) -> str:
    """The MQTT/HTTP username of a device credential: tenant and device ids never contain '@'."""
    return f"{device}@{tenant}"


def new_device_secret() -> tuple[str, str]:
    """A fresh device password and the digest to store."""
    secret = new_token()
    return secret, token_digest(secret)


def metric_specs(properties: Iterable[Mapping[str, Any]]) -> dict[str, MetricSpec]:
    specs: dict[str, MetricSpec] = {}
    for p in properties:
        dtype: DataType = p.get("type", "float")
        specs[p["name"]] = MetricSpec(
            name=p["name"], type=dtype, unit=p.get("unit"), min=p.get("min"), max=p.get("max")
        )
    return specs


@dataclass(frozen=True, slots=True)
class _Entry:
    ref: DeviceRef
    credential_hash: str
    active: bool  # enabled and its tenant active: may authenticate


# Beyond this many changed keys a full reload is cheaper than a long OR (and SQLite caps
# expression depth at 1000).
_MAX_PATCH_KEYS = 200


class MetaDirectory:
    def __init__(self, meta: MetaStore) -> None:
        self._meta = meta
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._children: dict[tuple[str, str], frozenset[str]] = {}
        self._auth_ok: dict[tuple[str, str], DeviceRef] = {}
        self._lock = threading.Lock()  # guards swapping the maps (readers take none)
        # Held over a whole load-and-apply, so a reload that read older rows never lands
        # after one that read newer (refresh() may run in another thread than the listener).
        self._apply_lock = threading.Lock()
        meta.on_change(self._on_change)
        self.refresh()

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, tenant: str, device: str) -> DeviceRef | None:
        entry = self._entries.get((tenant, device))
        return entry.ref if entry is not None else None

    def devices(self, tenant: str) -> list[str]:
        """Ids of every device registered in ``tenant``, heard from or not (a scan: for
        listings such as the console's, not for the per-message path)."""
        return sorted(device for t, device in list(self._entries) if t == tenant)

    def children(self, tenant: str, gateway: str) -> frozenset[str]:
        """Ids of the devices whose gateway is ``gateway``."""
        return self._children.get((tenant, gateway), frozenset())

    def authenticate(self, username: str, password: str) -> DeviceRef | None:
        cached = self._auth_ok.get((username, password))
        if cached is not None:
            return cached
        device, sep, tenant = username.rpartition("@")
        entry = self._entries.get((tenant, device)) if sep else None
        if entry is None or not entry.active:
            return None
        if not hmac.compare_digest(token_digest(password), entry.credential_hash):
            return None
        if len(self._auth_ok) >= _AUTH_CACHE_MAX:
            self._auth_ok = {}
        self._auth_ok[(username, password)] = entry.ref
        return entry.ref

    def refresh(self) -> None:
        """Reload everything (for processes that do not see this one's commits)."""
        with self._apply_lock:
            self._refresh()

    def _refresh(self) -> None:
        entries = dict(self._load(None))
        children: dict[tuple[str, str], frozenset[str]] = {}
        _link(children, entries.values(), add=True)
        with self._lock:
            self._entries = entries
            self._children = children
            self._auth_ok = {}
        log.debug("device directory loaded: %d devices", len(entries))

    def _on_change(self, changes: Changes) -> None:
        if not changes.keys() & WATCHED:
            return
        with self._apply_lock:
            self._apply(changes)

    def _apply(self, changes: Changes) -> None:
        if any(changes.get(t, ()) is None for t in WATCHED):
            self._refresh()
            return
        where: list[sa.ColumnElement[bool]] = []
        device_keys = changes.get("devices") or frozenset()
        type_keys = changes.get("device_types") or frozenset()
        tenant_keys = changes.get("tenants") or frozenset()
        if len(device_keys) + len(type_keys) > _MAX_PATCH_KEYS:  # bulk change: reload once
            self._refresh()
            return
        # OR of equalities, not a row-value IN: SQLite plans the latter as a table scan, which
        # made every device write cost O(devices).
        where.extend(sa.and_(Device.tenant_id == k[0], Device.id == k[1]) for k in device_keys)
        where.extend(
            sa.and_(Device.tenant_id == k[0], Device.device_type_id == k[1]) for k in type_keys
        )
        if tenant_keys:
            where.append(Device.tenant_id.in_([k[0] for k in tenant_keys]))
        fresh = dict(self._load(sa.or_(*where)))
        with self._lock:
            entries = dict(self._entries)
            gone = [entries.pop((k[0], k[1])) for k in device_keys if (k[0], k[1]) in entries]
            stale_tenants = {k[0] for k in tenant_keys}
            stale_types = {(k[0], k[1]) for k in type_keys}
            if stale_tenants or stale_types:
                for key, entry in list(entries.items()):
                    ref = entry.ref
                    if ref.tenant in stale_tenants or (ref.tenant, ref.device_type) in stale_types:
                        gone.append(entries.pop(key))
            entries.update(fresh)
            children = dict(self._children)
            _link(children, gone, add=False)
            _link(children, fresh.values(), add=True)
            self._entries = entries
            self._children = children
            self._auth_ok = {}

    def _load(
        self, where: sa.ColumnElement[bool] | None
    ) -> Iterable[tuple[tuple[str, str], _Entry]]:
        stmt = (
            sa.select(
                Device.tenant_id,
                Device.id,
                Device.device_type_id,
                Device.gateway_id,
                Device.enabled,
                Device.credential_hash,
                Tenant.status,
                DeviceType.properties,
                DeviceType.events,
            )
            .join(Tenant, Tenant.id == Device.tenant_id)
            .outerjoin(
                DeviceType,
                sa.and_(
                    DeviceType.tenant_id == Device.tenant_id,
                    DeviceType.id == Device.device_type_id,
                ),
            )
        )
        if where is not None:
            stmt = stmt.where(where)
        specs_by_type: dict[tuple[str, str], dict[str, MetricSpec]] = {}
        events_by_type: dict[tuple[str, str], dict[str, EventSpec]] = {}
        with self._meta.session() as s:
            rows = s.execute(stmt).all()
        for tenant, device, dtype, gateway, enabled, cred, status, props, events in rows:
            metrics: Mapping[str, MetricSpec] = {}
            event_defs: Mapping[str, EventSpec] = {}
            if dtype is not None:
                key = (tenant, dtype)
                if key not in specs_by_type:
                    specs_by_type[key] = metric_specs(props or [])
                    events_by_type[key] = event_specs(events or [])
                metrics = specs_by_type[key]
                event_defs = events_by_type[key]
            active = bool(enabled) and status == "active"
            ref = DeviceRef(
                tenant=tenant,
                device=device,
                device_type=dtype,
                metrics=metrics,
                events=event_defs,
                enabled=active,
                gateway=gateway,
            )
            yield (tenant, device), _Entry(ref=ref, credential_hash=cred, active=active)


def _link(
    children: dict[tuple[str, str], frozenset[str]], entries: Iterable[_Entry], *, add: bool
) -> None:
    """Add (or remove) each entry's device to (from) its gateway's set of children."""
    touched: dict[tuple[str, str], set[str]] = {}
    for entry in entries:
        ref = entry.ref
        if ref.gateway is None:
            continue
        key = (ref.tenant, ref.gateway)
        ids = touched.get(key)
        if ids is None:
            ids = touched[key] = set(children.get(key, ()))
        if add:
            ids.add(ref.device)
        else:
            ids.discard(ref.device)
    for key, ids in touched.items():
        if ids:
            children[key] = frozenset(ids)
        else:
            children.pop(key, None)
