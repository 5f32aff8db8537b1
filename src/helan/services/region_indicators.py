"""Plan indicators computed from the platform's data, stored as a daily series, and read
back for the regional page (progress against a plan's targets, by division and industry).

:func:`tenant_facts` asks the metadata store a handful of grouped queries (tenants; per
device its last ``device_online``/``device_offline`` event; identifiers of devices and
products; enabled app installs), whatever the number of tenants. :func:`refresh` rolls them
up (:func:`helan.region.indicators.aggregate`) and replaces the day's rows, so the series
holds, for each past day, the last computation of that day. The page reads stored rows
only: it answers in milliseconds however large the region, and says when they were computed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from helan.jobs.spec import Interval, JobSpec
from helan.region import divisions as div
from helan.region.divisions import region_prefix
from helan.region.indicators import ACTIVE_DAYS, ALL, INDICATORS, PLAN_ZONE, TenantFacts
from helan.region.indicators import aggregate as roll_up
from helan.region.industries import industries
from helan.storage.meta import MetaStore
from helan.storage.meta.models import AppInstall, Device, DeviceEvent, Product, Tenant
from helan.storage.meta.models_region import (
    RegionIndicatorValue,
    RegionPlan,
    RegionPlanTarget,
)

log = logging.getLogger(__name__)

ONLINE, OFFLINE = "device_online", "device_offline"
REFRESH_S = 300.0  # the page's "live" figures are at most this old


def plan_day(at: datetime) -> date:
    return at.astimezone(PLAN_ZONE).date()


def tenant_facts(meta: MetaStore, at: datetime) -> list[TenantFacts]:
    """Every tenant's facts at ``at`` (see the indicators' definitions)."""
    since = int((at - timedelta(days=ACTIVE_DAYS)).timestamp() * 1000)
    with meta.session() as s:
        facts = {
            t: TenantFacts(tenant=t, region=r, industry=i, active=st == "active")
            for t, r, i, st in s.execute(
                sa.select(Tenant.id, Tenant.region, Tenant.industry_code, Tenant.status)
            )
        }
        on = sa.func.max(sa.case((DeviceEvent.event == ONLINE, DeviceEvent.ts)))
        off = sa.func.max(sa.case((DeviceEvent.event == OFFLINE, DeviceEvent.ts)))
        last = (
            sa.select(
                DeviceEvent.tenant_id.label("tenant"),
                DeviceEvent.device_id.label("device"),
                on.label("on_ts"),
                off.label("off_ts"),
            )
            .where(DeviceEvent.event.in_((ONLINE, OFFLINE)))
            .group_by(DeviceEvent.tenant_id, DeviceEvent.device_id)
            .subquery()
        )
        online = sa.or_(last.c.off_ts.is_(None), last.c.on_ts > last.c.off_ts)
        active = sa.or_(online, last.c.on_ts >= since, last.c.off_ts >= since)
        rows = s.execute(
            sa.select(
                last.c.tenant,
                sa.func.count(),
                sa.func.sum(sa.case((active, 1), else_=0)),
                sa.func.sum(sa.case((online, 1), else_=0)),
            )
            .join(Device, sa.and_(Device.tenant_id == last.c.tenant, Device.id == last.c.device))
            .where(last.c.on_ts.is_not(None))
            .group_by(last.c.tenant)
        )
        for tenant, connected, active_n, online_n in rows:
            if (f := facts.get(tenant)) is not None:
                f.devices_connected, f.devices_active = int(connected), int(active_n or 0)
                f.devices_online = int(online_n or 0)
        for column, identifier in (
            (Device.tenant_id, Device.identifier),
            (Product.tenant_id, Product.identifier),
        ):
            counted = s.execute(
                sa.select(column, sa.func.count()).where(identifier.is_not(None)).group_by(column)
            )
            for tenant, n in counted:
                if (f := facts.get(tenant)) is not None:
                    f.identifiers += int(n)
        installs = s.execute(
            sa.select(AppInstall.tenant_id, sa.func.count())
            .where(AppInstall.enabled)
            .group_by(AppInstall.tenant_id)
        )
        for tenant, n in installs:
            if (f := facts.get(tenant)) is not None:
                f.apps = int(n)
    return list(facts.values())


def refresh(meta: MetaStore, at: datetime | None = None) -> int:
    """Compute every indicator for every division and industry and replace the rows of
    ``at``'s day (in China); the number of rows stored."""
    at = at or datetime.now(UTC)
    day = plan_day(at)
    values = roll_up(tenant_facts(meta, at))
    rows = [
        {
            "day": day,
            "region": region,
            "industry": industry,
            "indicator": indicator,
            "value": value,
            "computed_at": at,
        }
        for (region, industry, indicator), value in values.items()
    ]
    with meta.session() as s:
        s.execute(sa.delete(RegionIndicatorValue).where(RegionIndicatorValue.day == day))
        if rows:
            s.execute(sa.insert(RegionIndicatorValue), rows)
    return len(rows)


def indicator_job(meta: MetaStore) -> JobSpec:
    """The job storing the series: at start and every few minutes, so the day's row is live
    and yesterday's is the last value of yesterday."""

    async def run() -> None:
        from starlette.concurrency import run_in_threadpool

        n = await run_in_threadpool(refresh, meta)
        log.debug("regional indicators: %d rows stored", n)

    return JobSpec(
        id="region-indicators", trigger=Interval(seconds=REFRESH_S, at_start=True), run=run
    )


# --- reading back ------------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class Row:
    code: str
    name: str
    values: dict[str, float] = field(default_factory=dict)
    targets: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True, kw_only=True)
class Progress:
    region: str
    name: str
    industry: str
    year: int
    day: date | None
    computed_at: datetime | None
    plan: RegionPlan | None
    path: list[tuple[str, str]]
    total: Row
    divisions: list[Row]
    industries: list[Row]


def _latest_day(s: sa.orm.Session, region: str) -> tuple[date | None, datetime | None]:
    row = s.execute(
        sa.select(RegionIndicatorValue.day, RegionIndicatorValue.computed_at)
        .where(RegionIndicatorValue.region == region)
        .order_by(RegionIndicatorValue.day.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else (None, None)


def covering_plans(s: sa.orm.Session, region: str) -> list[RegionPlan]:
    """Plans of ``region`` and of the divisions above it, newest first."""
    above = div.ancestry(region)
    return list(
        s.scalars(
            sa.select(RegionPlan)
            .where(RegionPlan.region.in_(above))
            .order_by(RegionPlan.created_at.desc(), RegionPlan.id)
        )
    )


def _targets(
    s: sa.orm.Session, plan: str, year: int, regions: Iterable[str], industry: str | None
) -> dict[tuple[str, str, str], float]:
    """(region, industry, indicator) -> the target of the first plan year ≥ ``year``."""
    stmt = (
        sa.select(RegionPlanTarget)
        .where(
            RegionPlanTarget.plan_id == plan,
            RegionPlanTarget.year >= year,
            RegionPlanTarget.region.in_(list(regions)),
        )
        .order_by(RegionPlanTarget.year.desc())
    )
    if industry is not None:
        stmt = stmt.where(RegionPlanTarget.industry == industry)
    out: dict[tuple[str, str, str], float] = {}
    for t in s.scalars(stmt):  # latest year first: the earliest one wins
        out[(t.region, t.industry, t.indicator)] = t.target
    return out


def progress(
    meta: MetaStore,
    region: str,
    *,
    year: int,
    industry: str = ALL,
    plan_id: str | None = None,
) -> Progress:
    """The page's figures for ``region`` (and ``industry``): its values on the latest stored
    day with the plan's targets, the same for each division directly below it and for each
    industry one level down (sections, or a section's divisions)."""
    children = div.children(region)
    ind_table = industries()
    if industry == ALL:
        below = [i for i in ind_table.values() if i.section == i.code]
    else:
        below = [i for i in ind_table.values() if i.section == industry and i.code != industry]
    with meta.session() as s:
        day, computed = _latest_day(s, region)
        plans = covering_plans(s, region)
        plan = next((p for p in plans if p.id == plan_id), None) if plan_id else None
        if plan is None and plan_id is None and plans:
            plan = plans[0]
        codes = [region, *(c.code for c in children)]
        values: dict[tuple[str, str, str], float] = {}
        if day is not None:
            wanted_ind = [industry, *(i.code for i in below)]
            if div.level_of(region) == "prefecture" and region[:2] not in div.county_provinces():
                # Its counties are not in the shipped list: whatever codes the tenants carry.
                where = RegionIndicatorValue.region.startswith(region_prefix(region))
            else:
                where = RegionIndicatorValue.region.in_(codes)
            for r, ind, name, v in s.execute(
                sa.select(
                    RegionIndicatorValue.region,
                    RegionIndicatorValue.industry,
                    RegionIndicatorValue.indicator,
                    RegionIndicatorValue.value,
                ).where(
                    RegionIndicatorValue.day == day,
                    where,
                    RegionIndicatorValue.industry.in_(wanted_ind),
                )
            ):
                values[(r, ind, name)] = v
        targets = _targets(s, plan.id, year, codes, None) if plan is not None else {}

    def row(code: str, ind: str, *, label: str, name: str) -> Row:
        out = Row(code=label, name=name)
        for i in INDICATORS:
            out.values[i.id] = values.get((code, ind, i.id), 0.0)
            if (t := targets.get((code, ind, i.id))) is not None:
                out.targets[i.id] = t
        return out

    rows_below = [row(c.code, industry, label=c.code, name=c.name) for c in children]
    # Divisions the list does not name (counties of provinces without a shipped list).
    named = {c.code for c in children}
    for code in sorted({r for r, ind, _ in values if ind == industry} - named - {region}):
        if div.parent_of(code) == region:
            rows_below.append(row(code, industry, label=code, name=div.name_of(code)))
    name = div.name_of(region)
    return Progress(
        region=region,
        name=name,
        industry=industry,
        year=year,
        day=day,
        computed_at=computed,
        plan=plan,
        path=[(c, div.name_of(c)) for c in reversed(div.ancestry(region))],
        total=row(region, industry, label=region, name=name),
        divisions=rows_below,
        industries=[row(region, i.code, label=i.code, name=i.name) for i in below],
    )


def series(
    meta: MetaStore, region: str, indicator: str, *, industry: str = ALL, days: int = 90
) -> list[tuple[date, float]]:
    """The stored daily values of one indicator, oldest first."""
    with meta.session() as s:
        rows = s.execute(
            sa.select(RegionIndicatorValue.day, RegionIndicatorValue.value)
            .where(
                RegionIndicatorValue.region == region,
                RegionIndicatorValue.industry == industry,
                RegionIndicatorValue.indicator == indicator,
            )
            .order_by(RegionIndicatorValue.day.desc())
            .limit(days)
        )
        return sorted((d, float(v)) for d, v in rows)
