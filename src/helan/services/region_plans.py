"""Regional plans (targets as data) and the grants that make a region viewer a region's
administrator. Audited like every platform mutation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from helan.core.errors import Conflict, NotFound, ValidationFailed
from helan.region.divisions import ancestry, check_division, in_region
from helan.region.indicators import PLAN_ZONE
from helan.region.plans import Plan, check_plan
from helan.security.audit import audited
from helan.security.principal import Principal, Role
from helan.storage.meta import MetaStore
from helan.storage.meta.models import User
from helan.storage.meta.models_region import RegionAdmin, RegionPlan, RegionPlanTarget


def this_year(now: datetime | None = None) -> int:
    """The current year in China, where the plans' years are counted."""
    return (now or datetime.now(UTC)).astimezone(PLAN_ZONE).year


def create_plan(
    meta: MetaStore, principal: Principal, region: str, doc: dict[str, Any]
) -> RegionPlan:
    """Store the plan ``doc`` for ``region``; every problem is a 422 naming its position."""
    plan: Plan = check_plan(doc, region=region, this_year=this_year())
    with audited(
        meta,
        principal,
        tenant=None,
        action="region.plan.create",
        object_type="region_plan",
        object_id=plan.id,
        detail={"region": region, "targets": len(plan.targets)},
    ) as s:
        if s.get(RegionPlan, plan.id) is not None:
            raise Conflict(f"plan {plan.id!r} already exists")
        row = RegionPlan(
            id=plan.id,
            region=region,
            name=plan.name,
            description=plan.description,
            created_by=principal.subject,
        )
        s.add(row)
        s.flush()
        s.add_all(
            RegionPlanTarget(
                plan_id=plan.id,
                indicator=t.indicator,
                year=t.year,
                region=t.region,
                industry=t.industry,
                target=t.target,
            )
            for t in plan.targets
        )
        return row


def list_plans(meta: MetaStore, region: str) -> list[RegionPlan]:
    """The plans of ``region``, of the divisions above it and below it, newest first."""
    with meta.session() as s:
        rows = s.scalars(sa.select(RegionPlan).order_by(RegionPlan.created_at.desc()))
        above = set(ancestry(region))
        return [p for p in rows if p.region in above or in_region(region, p.region)]


def get_plan(
    meta: MetaStore, region: str, plan_id: str
) -> tuple[RegionPlan, list[RegionPlanTarget]]:
    """A plan visible from ``region`` (its own, above or below it) with its targets."""
    with meta.session() as s:
        plan = s.get(RegionPlan, plan_id)
        if plan is None or not (plan.region in ancestry(region) or in_region(region, plan.region)):
            raise NotFound(f"plan {plan_id!r} not found")
        targets = list(
            s.scalars(
                sa.select(RegionPlanTarget)
                .where(RegionPlanTarget.plan_id == plan_id)
                .order_by(
                    RegionPlanTarget.region,
                    RegionPlanTarget.indicator,
                    RegionPlanTarget.year,
                    RegionPlanTarget.industry,
                )
            )
        )
        return plan, targets


def delete_plan(meta: MetaStore, principal: Principal, region: str, plan_id: str) -> None:
    """Delete a plan of ``region`` itself (a plan of a division above is not its to delete)."""
    with audited(
        meta,
        principal,
        tenant=None,
        action="region.plan.delete",
        object_type="region_plan",
        object_id=plan_id,
    ) as s:
        plan = s.get(RegionPlan, plan_id)
        if plan is None or not in_region(region, plan.region):
            raise NotFound(f"plan {plan_id!r} not found")
        s.delete(plan)


# --- region administrators -------------------------------------------------------------------


def is_region_admin(meta: MetaStore, username: str, region: str) -> bool:
    """Whether ``username`` holds the administration of ``region`` or a division above it."""
    with meta.session() as s:
        held = s.scalars(sa.select(RegionAdmin.region).where(RegionAdmin.username == username))
        return any(in_region(r, region) for r in held)


def grant_admin(meta: MetaStore, principal: Principal, username: str, region: str) -> RegionAdmin:
    """Make the region viewer ``username`` an administrator of ``region`` (inside its own)."""
    check_division(region)
    with audited(
        meta,
        principal,
        tenant=None,
        action="region.admin.grant",
        object_type="user",
        object_id=username,
        detail={"region": region},
    ) as s:
        user = s.get(User, username)
        if user is None or user.tenant_id is not None:
            raise NotFound(f"user {username!r} not found")
        if user.role != Role.REGION_VIEWER.value:
            raise ValidationFailed(
                f"only a region viewer can administer a region; {username!r} is {user.role}"
            )
        if user.region is None or not in_region(user.region, region):
            raise ValidationFailed(
                f"region {region!r} lies outside {username!r}'s region {user.region!r}"
            )
        if s.get(RegionAdmin, (username, region)) is not None:
            raise Conflict(f"{username!r} already administers {region!r}")
        row = RegionAdmin(username=username, region=region, granted_by=principal.subject)
        s.add(row)
        return row


def revoke_admin(meta: MetaStore, principal: Principal, username: str, region: str) -> None:
    with audited(
        meta,
        principal,
        tenant=None,
        action="region.admin.revoke",
        object_type="user",
        object_id=username,
        detail={"region": region},
    ) as s:
        row = s.get(RegionAdmin, (username, region))
        if row is None:
            raise NotFound(f"{username!r} does not administer {region!r}")
        s.delete(row)


def list_admins(meta: MetaStore, region: str) -> list[RegionAdmin]:
    with meta.session() as s:
        rows = s.scalars(sa.select(RegionAdmin).order_by(RegionAdmin.region, RegionAdmin.username))
        return [r for r in rows if in_region(region, r.region) or r.region in ancestry(region)]
