"""The catalogue's operations: what a tenant sees, and the audited changes a tenant admin makes.

Installs go to ``app_installs`` (the one record the SDK checks), configuration to the
catalogue's own table, both in the audited session, so the audit record and the change commit
together or not at all. A configuration is checked against the app's manifest schema and
refused with the position of every error.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from jsonschema import Draft202012Validator

from helan.apps.catalogue.store import CONFIGS, USAGE, ensure_schema
from helan.apps.descriptors import AppManifest
from helan.apps.installs import AppInstalls
from helan.core.errors import NotFound, ValidationFailed
from helan.security.audit import audited
from helan.security.principal import Principal
from helan.storage.meta import MetaStore
from helan.storage.meta.models import AppInstall, Tenant

MAX_CONFIG_ERRORS = 20


def check_config(manifest: AppManifest, config: Mapping[str, Any]) -> None:
    """ValidationFailed listing each schema error at its position under ``config``."""
    validator = Draft202012Validator(manifest.config_schema)
    errors = sorted(validator.iter_errors(dict(config)), key=lambda e: list(e.absolute_path))
    if errors:
        details = [
            {"loc": ["config", *e.absolute_path], "message": e.message, "type": e.validator}
            for e in errors[:MAX_CONFIG_ERRORS]
        ]
        raise ValidationFailed(f"config: {errors[0].message}", details=details)


@dataclass(frozen=True, slots=True)
class Catalogue:
    meta: MetaStore
    installs: AppInstalls
    manifests: Mapping[str, AppManifest]

    def manifest(self, app_id: str) -> AppManifest:
        found = self.manifests.get(app_id)
        if found is None:
            raise NotFound(f"no app {app_id!r} in the catalogue")
        return found

    def entries(self, tenant: str) -> list[dict[str, Any]]:
        ensure_schema(self.meta)
        with self.meta.session() as s:
            if s.get(Tenant, tenant) is None:
                raise NotFound(f"no tenant {tenant!r}")
            rows = {
                r.app_id: r
                for r in s.scalars(sa.select(AppInstall).where(AppInstall.tenant_id == tenant))
            }
            configs = {
                r.app_id: (dict(r.config), int(r.version))
                for r in s.execute(sa.select(CONFIGS).where(CONFIGS.c.tenant_id == tenant))
            }
            return [
                self._entry(app_id, rows.get(app_id), configs.get(app_id, ({}, 0)))
                for app_id in sorted(self.manifests)
            ]

    def entry(self, tenant: str, app_id: str) -> dict[str, Any]:
        self.manifest(app_id)
        return next(e for e in self.entries(tenant) if e["id"] == app_id)

    def _entry(
        self, app_id: str, row: AppInstall | None, config: tuple[dict[str, Any], int]
    ) -> dict[str, Any]:
        m = self.manifests[app_id]
        return {
            "id": app_id,
            "name": {"zh-CN": m.name_zh, "en": m.name_en},
            "description": {"zh-CN": m.description_zh, "en": m.description_en},
            "version": m.version,
            "scopes": list(m.scopes),
            "config_schema": m.config_schema,
            "installed": row is not None,
            "enabled": bool(row.enabled) if row is not None else False,
            "installed_at": row.installed_at.isoformat() if row is not None else None,
            "config": config[0],
            "config_version": config[1],
        }

    def install(
        self,
        principal: Principal,
        tenant: str,
        app_id: str,
        *,
        enabled: bool = True,
        config: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        manifest = self.manifest(app_id)
        if config is not None:
            check_config(manifest, config)
        ensure_schema(self.meta)
        detail: dict[str, Any] = {"enabled": enabled, "version": manifest.version}
        with audited(
            self.meta, principal, tenant=tenant, action="app.install", object_type="app",
            object_id=app_id, detail=detail,
        ) as s:  # fmt: skip
            if s.get(Tenant, tenant) is None:
                raise NotFound(f"no tenant {tenant!r}")
            row = s.get(AppInstall, (tenant, app_id))
            if row is None:
                s.add(AppInstall(tenant_id=tenant, app_id=app_id, enabled=enabled))
            else:
                detail["already_installed"] = True
                row.enabled = enabled
            if config is not None:
                detail["config_version"] = _put_config(s, tenant, app_id, config)
        self.installs.reload()
        return self.entry(tenant, app_id)

    def update(
        self,
        principal: Principal,
        tenant: str,
        app_id: str,
        *,
        enabled: bool | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        manifest = self.manifest(app_id)
        if config is not None:
            check_config(manifest, config)
        ensure_schema(self.meta)
        action = (
            "app.configure" if enabled is None else ("app.enable" if enabled else "app.disable")
        )
        detail: dict[str, Any] = {}
        with audited(
            self.meta, principal, tenant=tenant, action=action, object_type="app",
            object_id=app_id, detail=detail,
        ) as s:  # fmt: skip
            row = s.get(AppInstall, (tenant, app_id))
            if row is None:
                raise NotFound(f"app {app_id!r} is not installed in tenant {tenant!r}")
            if enabled is not None:
                detail["enabled"] = row.enabled = enabled
            if config is not None:
                detail["config_version"] = _put_config(s, tenant, app_id, config)
        self.installs.reload()
        return self.entry(tenant, app_id)

    def usage(self) -> dict[str, Any]:
        """:func:`usage` of every tenant."""
        return usage(self.meta)

    def uninstall(self, principal: Principal, tenant: str, app_id: str) -> None:
        """Remove the install and its configuration (the usage history stays)."""
        self.manifest(app_id)
        ensure_schema(self.meta)
        with audited(
            self.meta, principal, tenant=tenant, action="app.uninstall", object_type="app",
            object_id=app_id,
        ) as s:  # fmt: skip
            row = s.get(AppInstall, (tenant, app_id))
            if row is None:
                raise NotFound(f"app {app_id!r} is not installed in tenant {tenant!r}")
            s.delete(row)
            s.execute(
                sa.delete(CONFIGS).where(CONFIGS.c.tenant_id == tenant, CONFIGS.c.app_id == app_id)
            )
        self.installs.reload()


def _put_config(s: Any, tenant: str, app_id: str, config: Mapping[str, Any]) -> int:
    where = (CONFIGS.c.tenant_id == tenant) & (CONFIGS.c.app_id == app_id)
    version = s.execute(sa.select(CONFIGS.c.version).where(where)).scalar()
    now = datetime.now(UTC)
    if version is None:
        s.execute(
            sa.insert(CONFIGS).values(
                tenant_id=tenant, app_id=app_id, config=dict(config), version=1, updated_at=now
            )
        )
        return 1
    s.execute(
        sa.update(CONFIGS)
        .where(where)
        .values(config=dict(config), version=version + 1, updated_at=now)
    )
    return int(version) + 1


def usage(
    meta: MetaStore,
    *,
    tenants: Collection[str] | None = None,
    days: int = 30,
    today: date | None = None,
) -> dict[str, Any]:
    """Usage of every app that has an install or calls, for the "apps in use" indicator:
    per app ``installs`` (tenants with the app installed), ``active_tenants`` (installed and
    enabled) and ``calls`` (route calls in the last ``days`` UTC days, flushed counters), and
    ``apps_in_use`` (apps with at least one active tenant). ``tenants`` limits every figure to
    those tenants (a region's)."""
    ensure_schema(meta)
    since = (today or datetime.now(UTC).date()) - timedelta(days=days - 1)
    with meta.session() as s:
        q = sa.select(AppInstall.app_id, AppInstall.tenant_id, AppInstall.enabled)
        c = sa.select(USAGE.c.app_id, sa.func.sum(USAGE.c.calls)).where(USAGE.c.day >= since)
        if tenants is not None:
            q = q.where(AppInstall.tenant_id.in_(list(tenants)))
            c = c.where(USAGE.c.tenant_id.in_(list(tenants)))
        installs = s.execute(q).all()
        calls = {a: n for a, n in s.execute(c.group_by(USAGE.c.app_id))}
    apps: dict[str, dict[str, int]] = {}
    for app_id, _tenant, enabled in installs:
        a = apps.setdefault(app_id, {"installs": 0, "active_tenants": 0, "calls": 0})
        a["installs"] += 1
        a["active_tenants"] += int(bool(enabled))
    for app_id, n in calls.items():
        apps.setdefault(app_id, {"installs": 0, "active_tenants": 0, "calls": 0})["calls"] = int(n)
    return {
        "days": days,
        "since": since.isoformat(),
        "apps_in_use": sum(1 for a in apps.values() if a["active_tenants"] > 0),
        "apps": dict(sorted(apps.items())),
    }
