"""Which tenants have installed which app (table ``app_installs``).

The SDK and the committed-data fan-out ask this for every call and every batch, on the event
loop, so they read a cache and never the database. Writes through this object refresh it at
once; the apps component reloads it every few seconds on the scheduler (in a worker thread) so
that installs made by another process (the API role) arrive too.
"""

from __future__ import annotations

import sqlalchemy as sa

from helan.core.errors import NotFound
from helan.storage.meta import MetaStore
from helan.storage.meta.models import AppInstall, Tenant


class AppInstalls:
    def __init__(self, meta: MetaStore) -> None:
        self._meta = meta
        self._cache: dict[str, frozenset[str]] = {}

    def tenants(self, app_id: str) -> frozenset[str]:
        """Tenants with ``app_id`` installed and enabled, as of the last :meth:`reload`."""
        return self._cache.get(app_id, frozenset())

    def install(self, tenant: str, app_id: str, *, enabled: bool = True) -> None:
        """Install (or re-enable / disable) ``app_id`` for ``tenant``."""
        with self._meta.session() as s:
            if s.get(Tenant, tenant) is None:
                raise NotFound(f"no tenant {tenant!r}")
            row = s.get(AppInstall, (tenant, app_id))
            if row is None:
                s.add(AppInstall(tenant_id=tenant, app_id=app_id, enabled=enabled))
            else:
                row.enabled = enabled
        self.reload()

    def uninstall(self, tenant: str, app_id: str) -> None:
        with self._meta.session() as s:
            s.execute(
                sa.delete(AppInstall).where(
                    AppInstall.tenant_id == tenant, AppInstall.app_id == app_id
                )
            )
        self.reload()

    def reload(self) -> None:
        """Read the table again (blocking)."""
        with self._meta.session() as s:
            rows = s.execute(
                sa.select(AppInstall.app_id, AppInstall.tenant_id).where(AppInstall.enabled)
            ).all()
        by_app: dict[str, set[str]] = {}
        for app_id, tenant in rows:
            by_app.setdefault(app_id, set()).add(tenant)
        self._cache = {a: frozenset(t) for a, t in by_app.items()}
