"""Advisories and the inventory in the metadata store: the inventory read from the device
directory, CSAF advisories (every version) and the KEV catalog imported, matches per asset
and per advisory.

Matching reads the latest version of every advisory; the parsed advisories and their index
are kept per store and rebuilt only when the set of imported versions or the KEV catalog
changes."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import orjson
import sqlalchemy as sa

from helan.core.errors import Conflict, NotFound
from helan.security.advisories import csaf
from helan.security.advisories.kev import load_kev
from helan.security.advisories.matching import Match, Matcher
from helan.security.advisories.versions import version_key
from helan.security.assets.inventory import InventoryAsset, build_asset
from helan.security.audit import audited
from helan.security.principal import Principal
from helan.storage.meta import MetaStore
from helan.storage.meta.models import Device
from helan.storage.meta.models_security_assets import (
    SecurityAdvisory,
    SecurityKev,
)


@dataclass(frozen=True, slots=True)
class Imported:
    tracking_id: str
    version: str
    outcome: str  # new | unchanged | older (stored, a newer version stays the latest)
    latest: bool


def _newer(a: str, b: str) -> bool:
    ka, kb = version_key(a), version_key(b)
    if ka is None or kb is None:
        return a > b
    return ka > kb


def import_advisory(meta: MetaStore, principal: Principal, data: bytes, *, source: str) -> Imported:
    """Check and store one CSAF document. The same id and version with other content is a
    Conflict (a publisher changes the version when it changes the document)."""
    adv = csaf.load(data)
    digest = hashlib.sha256(data).hexdigest()
    doc = orjson.loads(data)
    with audited(
        meta,
        principal,
        tenant=None,
        action="advisory.import",
        object_type="advisory",
        object_id=f"{adv.tracking_id}@{adv.version}"[:200],
        detail={"source": source[:200]},
    ) as s:
        old = s.get(SecurityAdvisory, (adv.tracking_id, adv.version))
        if old is not None:
            if old.digest != digest:
                raise Conflict(
                    f"advisory {adv.tracking_id} version {adv.version} was imported with "
                    "other content",
                    code="advisory_version_conflict",
                )
            return Imported(adv.tracking_id, adv.version, "unchanged", old.latest)
        current = s.scalars(
            sa.select(SecurityAdvisory).where(
                SecurityAdvisory.tracking_id == adv.tracking_id, SecurityAdvisory.latest
            )
        ).first()
        latest = current is None or _newer(adv.version, current.version)
        if latest and current is not None:
            current.latest = False
            s.flush()
        s.add(
            SecurityAdvisory(
                tracking_id=adv.tracking_id,
                version=adv.version,
                title=adv.title[:500],
                publisher=adv.publisher[:200],
                status=adv.status,
                current_release=adv.current_release[:40],
                max_cvss=adv.max_cvss,
                cves=list(adv.cves),
                digest=digest,
                source=source[:500],
                document=doc,
                latest=latest,
                imported_by=principal.subject,
            )
        )
    return Imported(adv.tracking_id, adv.version, "new" if latest else "older", latest)


def import_kev(meta: MetaStore, principal: Principal, data: bytes) -> int:
    """Replace the KEV catalog; the number of entries."""
    catalog = load_kev(data)
    with audited(
        meta, principal, tenant=None, action="kev.import", object_type="kev", object_id=None
    ) as s:
        s.execute(sa.delete(SecurityKev))
        seen: set[str] = set()
        for e in catalog.entries:
            if e.cve in seen:
                continue
            seen.add(e.cve)
            s.add(
                SecurityKev(
                    cve=e.cve,
                    vendor=e.vendor,
                    product=e.product,
                    name=e.name,
                    date_added=e.date_added,
                    due_date=e.due_date,
                    ransomware=e.ransomware,
                    catalog_version=catalog.version[:40],
                )
            )
    return len(seen)


_lock = threading.Lock()
_matchers: dict[int, tuple[tuple[object, ...], Matcher]] = {}


def matcher(meta: MetaStore) -> Matcher:
    """The index of the latest advisories and the KEV list, rebuilt when either changed."""
    with meta.session() as s:
        versions = tuple(
            s.execute(
                sa.select(SecurityAdvisory.tracking_id, SecurityAdvisory.digest)
                .where(SecurityAdvisory.latest)
                .order_by(SecurityAdvisory.tracking_id)
            ).all()
        )
        kev_count = s.scalar(sa.select(sa.func.count()).select_from(SecurityKev)) or 0
        kev_version = s.scalar(sa.select(sa.func.max(SecurityKev.catalog_version)))
        key = (versions, kev_count, kev_version)
        with _lock:
            cached = _matchers.get(id(meta))
            if cached is not None and cached[0] == key:
                return cached[1]
        docs = s.scalars(sa.select(SecurityAdvisory.document).where(SecurityAdvisory.latest))
        advisories = [csaf.read(d) for d in docs]
        kev = s.scalars(sa.select(SecurityKev.cve)).all()
    built = Matcher(advisories, kev)
    with _lock:
        _matchers[id(meta)] = (key, built)
    return built


def inventory(
    meta: MetaStore,
    tenant: str | None,
    *,
    vendor: str | None = None,
    device: str | None = None,
) -> list[InventoryAsset]:
    """The assets of ``tenant`` (None: every tenant), optionally one normalised vendor or
    one device."""
    stmt = sa.select(
        Device.tenant_id,
        Device.id,
        Device.name,
        Device.vendor,
        Device.model,
        Device.firmware,
        Device.attributes,
    ).order_by(Device.tenant_id, Device.id)
    if tenant is not None:
        stmt = stmt.where(Device.tenant_id == tenant)
    if device is not None:
        stmt = stmt.where(Device.id == device)
    with meta.session() as s:
        rows = s.execute(stmt).all()
    assets = [
        build_asset(
            tenant=r[0],
            device=r[1],
            name=r[2],
            vendor=r[3],
            model=r[4],
            firmware=r[5],
            attributes=r[6],
        )
        for r in rows
    ]
    if vendor is not None:
        assets = [a for a in assets if a.vendor_key == vendor]
    return assets


def device_asset(meta: MetaStore, tenant: str, device: str) -> InventoryAsset:
    found = inventory(meta, tenant, device=device)
    if not found:
        raise NotFound(f"device {device!r} not found")
    return found[0]


def matches(
    meta: MetaStore,
    assets: Iterable[InventoryAsset],
    *,
    advisory: str | None = None,
    status: str | None = None,
) -> list[Match]:
    """Matches of ``assets`` (optionally one advisory or one status), best first."""
    m = matcher(meta)
    found = [
        x
        for x in m.match_all(assets)
        if (advisory is None or x.tracking_id == advisory)
        and (status is None or x.status == status)
    ]
    found.sort(key=lambda x: (x.rank, x.tenant, x.device), reverse=True)
    return found


def get_advisory(meta: MetaStore, tracking_id: str, version: str | None = None) -> SecurityAdvisory:
    with meta.session() as s:
        stmt = sa.select(SecurityAdvisory).where(SecurityAdvisory.tracking_id == tracking_id)
        stmt = stmt.where(
            SecurityAdvisory.version == version if version is not None else SecurityAdvisory.latest
        )
        row = s.scalars(stmt).first()
        if row is None:
            raise NotFound(f"advisory {tracking_id!r} not found")
        s.expunge(row)
        return row


def list_advisories(meta: MetaStore) -> list[SecurityAdvisory]:
    """The latest version of every advisory, highest CVSS first."""
    with meta.session() as s:
        rows = list(
            s.scalars(
                sa.select(SecurityAdvisory)
                .where(SecurityAdvisory.latest)
                .order_by(SecurityAdvisory.max_cvss.desc(), SecurityAdvisory.tracking_id)
            )
        )
        s.expunge_all()
        return rows


def versions(meta: MetaStore, tracking_id: str) -> list[str]:
    with meta.session() as s:
        return list(
            s.scalars(
                sa.select(SecurityAdvisory.version).where(
                    SecurityAdvisory.tracking_id == tracking_id
                )
            )
        )


def kev_ids(meta: MetaStore) -> frozenset[str]:
    return matcher(meta).kev
