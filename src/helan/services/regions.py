"""What a region's overseers see: counts over the tenants registered in an administrative
division and the divisions below it (:func:`helan.security.policy.in_region`), never a
tenant's objects or data. Who may ask is the policy's decision (``may_see_region``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from helan.region.divisions import region_prefix
from helan.storage.meta import MetaStore
from helan.storage.meta.models import AppInstall, Device, Product, Tenant


@dataclass(slots=True, kw_only=True)
class TenantFigures:
    id: str
    name: str
    status: str
    devices: int = 0
    identifiers: int = 0  # devices and products with an industrial identifier


@dataclass(slots=True, kw_only=True)
class RegionFigures:
    region: str
    tenants: list[TenantFigures] = field(default_factory=list)  # by id
    apps: dict[str, int] = field(default_factory=dict)  # app id -> tenants with it enabled


def region_figures(meta: MetaStore, region: str) -> RegionFigures:
    """The stored counts of ``region`` (a valid six-digit code); a few grouped queries,
    whatever the number of tenants and devices."""
    in_region = sa.select(Tenant.id).where(Tenant.region.startswith(region_prefix(region)))
    with meta.session() as s:
        tenants = {
            t.id: TenantFigures(id=t.id, name=t.name, status=t.status)
            for t in s.execute(
                sa.select(Tenant.id, Tenant.name, Tenant.status)
                .where(Tenant.id.in_(in_region))
                .order_by(Tenant.id)
            )
        }
        for tenant, n in _per_tenant(s, Device.tenant_id, Device.tenant_id.in_(in_region)):
            tenants[tenant].devices = n
        for column, identifier in (
            (Device.tenant_id, Device.identifier),
            (Product.tenant_id, Product.identifier),
        ):
            where = sa.and_(column.in_(in_region), identifier.is_not(None))
            for tenant, n in _per_tenant(s, column, where):
                tenants[tenant].identifiers += n
        apps = s.execute(
            sa.select(AppInstall.app_id, sa.func.count())
            .where(AppInstall.enabled, AppInstall.tenant_id.in_(in_region))
            .group_by(AppInstall.app_id)
            .order_by(AppInstall.app_id)
        )
        return RegionFigures(
            region=region, tenants=list(tenants.values()), apps={a: int(n) for a, n in apps}
        )


def _per_tenant(
    s: Session, column: sa.orm.InstrumentedAttribute[str], where: sa.ColumnElement[bool]
) -> Iterable[tuple[str, int]]:
    rows = s.execute(sa.select(column, sa.func.count()).where(where).group_by(column))
    return ((tenant, int(n)) for tenant, n in rows)
