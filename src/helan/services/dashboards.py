"""Dashboards: a tenant member's composed views, saved with a save counter, shared read-only
by link within the tenant, exported and imported as JSON.

Who sees what: a dashboard belongs to the user who made it; its owner and the tenant's
administrators open and change it. Anyone else in the tenant opens it only through its share
link (a random token, stored as its digest, revoked or replaced at will), and only to view. A
link outside the tenant is as unknown as a wrong one (404): the token is not a bearer
credential, it needs a signed-in member of the same tenant.

Saves name the version they started from; an older one is refused (409), so two people editing
the same dashboard cannot overwrite each other without knowing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from helan.core import ids
from helan.core.errors import Conflict, NotFound, ValidationFailed
from helan.core.hashing import new_token, token_digest
from helan.security.audit import audited
from helan.security.principal import ADMINS, Principal
from helan.services.dashboard_spec import check_size, validate_spec
from helan.services.fields import name as check_name
from helan.services.paging import Listing, PageRequest, listing
from helan.storage.meta import MetaStore
from helan.storage.meta.models_console import Dashboard

EXPORT_FORMAT = "helan.dashboard/v1"
MAX_DESCRIPTION = 2000
SORT = {
    "id": Dashboard.id,
    "title": Dashboard.title,
    "updated_at": Dashboard.updated_at,
    "created_at": Dashboard.created_at,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class DashboardInput:
    title: str
    spec: dict[str, Any]
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Shared:
    dashboard: Dashboard
    token: str  # shown once


def _is_admin(principal: Principal) -> bool:
    return principal.role in ADMINS


def _may_edit(principal: Principal, row: Dashboard) -> bool:
    return _is_admin(principal) or row.owner == principal.subject


def _check(data: DashboardInput) -> dict[str, Any]:
    check_name(data.title)
    if data.description is not None and len(data.description) > MAX_DESCRIPTION:
        raise ValidationFailed(f"description may have at most {MAX_DESCRIPTION} characters")
    return validate_spec(data.spec)


def _own(meta_row: Dashboard | None, principal: Principal, dashboard: str) -> Dashboard:
    """The row if ``principal`` may open it by id; 404 otherwise (another's is not listed)."""
    if meta_row is None or not _may_edit(principal, meta_row):
        raise NotFound(f"dashboard {dashboard!r} not found")
    return meta_row


def list_dashboards(
    meta: MetaStore, tenant: str, principal: Principal, paging: PageRequest
) -> Listing[Dashboard]:
    stmt = sa.select(Dashboard).where(Dashboard.tenant_id == tenant)
    if not _is_admin(principal):
        stmt = stmt.where(Dashboard.owner == principal.subject)
    return listing(meta, stmt, paging, sort=SORT, default="title", tiebreak=[Dashboard.id])


def get_dashboard(meta: MetaStore, tenant: str, dashboard: str, principal: Principal) -> Dashboard:
    with meta.session() as s:
        return _own(s.get(Dashboard, (tenant, dashboard)), principal, dashboard)


def create_dashboard(
    meta: MetaStore,
    tenant: str,
    data: DashboardInput,
    principal: Principal,
    *,
    dashboard: str | None = None,
    action: str = "dashboard.create",
) -> Dashboard:
    key = ids.device_id(dashboard) if dashboard else uuid.uuid4().hex[:12]
    with audited(
        meta, principal, tenant=tenant, action=action, object_type="dashboard", object_id=key
    ) as s:
        spec = _check(data)  # inside: a refused import is in the audit trail too
        if s.get(Dashboard, (tenant, key)) is not None:
            raise Conflict(f"dashboard {key!r} already exists")
        row = Dashboard(
            tenant_id=tenant,
            id=key,
            title=data.title,
            description=data.description,
            owner=principal.subject,
            spec=spec,
            version=1,
        )
        s.add(row)
        s.flush()
        s.refresh(row)
        return row


def update_dashboard(
    meta: MetaStore,
    tenant: str,
    dashboard: str,
    data: DashboardInput,
    version: int,
    principal: Principal,
) -> Dashboard:
    """Replace title, description and spec; ``version`` is the one the editor started from."""
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="dashboard.update",
        object_type="dashboard",
        object_id=dashboard,
        detail={"from_version": version},
    ) as s:
        spec = _check(data)
        row = _own(s.get(Dashboard, (tenant, dashboard)), principal, dashboard)
        if row.version != version:
            raise Conflict(
                f"dashboard {dashboard!r} was saved meanwhile (version {row.version}, "
                f"this edit started from {version}): reload it",
                code="stale_version",
            )
        row.title, row.description, row.spec = data.title, data.description, spec
        row.version += 1
        s.flush()
        s.refresh(row)
        return row


def delete_dashboard(meta: MetaStore, tenant: str, dashboard: str, principal: Principal) -> None:
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="dashboard.delete",
        object_type="dashboard",
        object_id=dashboard,
    ) as s:
        s.delete(_own(s.get(Dashboard, (tenant, dashboard)), principal, dashboard))


def share_dashboard(meta: MetaStore, tenant: str, dashboard: str, principal: Principal) -> Shared:
    """A new share token (an older link stops working)."""
    token = new_token("hd_")
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="dashboard.share",
        object_type="dashboard",
        object_id=dashboard,
    ) as s:
        row = _own(s.get(Dashboard, (tenant, dashboard)), principal, dashboard)
        row.share_digest = token_digest(token)
        s.flush()
        s.refresh(row)
        return Shared(row, token)


def unshare_dashboard(meta: MetaStore, tenant: str, dashboard: str, principal: Principal) -> None:
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="dashboard.unshare",
        object_type="dashboard",
        object_id=dashboard,
    ) as s:
        _own(s.get(Dashboard, (tenant, dashboard)), principal, dashboard).share_digest = None


def shared_dashboard(meta: MetaStore, tenant: str, token: str) -> Dashboard:
    """The dashboard a share token names, if it is this tenant's (the caller is a signed-in
    reader of ``tenant``; the router has checked that)."""
    if not token.startswith("hd_") or len(token) > 100:
        raise NotFound("shared dashboard not found")
    with meta.session() as s:
        row = s.scalar(
            sa.select(Dashboard).where(
                Dashboard.tenant_id == tenant, Dashboard.share_digest == token_digest(token)
            )
        )
    if row is None:
        raise NotFound("shared dashboard not found")
    return row


def export_document(row: Dashboard) -> dict[str, Any]:
    """The portable form: no tenant, owner or share token travels with it."""
    return {
        "format": EXPORT_FORMAT,
        "id": row.id,
        "title": row.title,
        "description": row.description,
        "spec": row.spec,
    }


def import_document(
    meta: MetaStore,
    tenant: str,
    document: object,
    principal: Principal,
    *,
    dashboard: str | None = None,
) -> Dashboard:
    """A new dashboard from an exported document; refused whole on any problem (size first:
    a 10 MB file is not parsed further)."""
    check_size(document)
    if not isinstance(document, dict):
        raise ValidationFailed("a dashboard document is a JSON object", code="invalid_dashboard")
    issues = []
    if document.get("format") != EXPORT_FORMAT:
        issues.append(
            {
                "loc": ["format"],
                "message": f"must be {EXPORT_FORMAT!r}",
                "type": "unknown_format",
            }
        )
    unknown = set(document) - {"format", "id", "title", "description", "spec"}
    issues += [
        {"loc": [key], "message": "unknown field", "type": "extra_forbidden"}
        for key in sorted(unknown)
    ]
    title, description = document.get("title"), document.get("description")
    if not isinstance(title, str):
        issues.append({"loc": ["title"], "message": "a string is required", "type": "string"})
    if description is not None and not isinstance(description, str):
        issues.append({"loc": ["description"], "message": "a string or null", "type": "string"})
    if issues:
        raise ValidationFailed(
            f"invalid dashboard document at {issues[0]['loc'][0]}: {issues[0]['message']}",
            code="invalid_dashboard",
            details=issues,
        )
    wanted = dashboard or document.get("id")
    data = DashboardInput(
        title=str(title),
        description=description if isinstance(description, str) else None,
        spec=document.get("spec"),  # type: ignore[arg-type]  # validate_spec checks the shape
    )
    return create_dashboard(
        meta,
        tenant,
        data,
        principal,
        dashboard=wanted if isinstance(wanted, str) and wanted else None,
        action="dashboard.import",
    )
