"""Plan indicators as data: what each one counts, and how a region's value is rolled up from
the facts of its tenants.

Each :class:`Indicator` says in words what counts (shown on the page and in exports, zh-CN
and en) and names the per-tenant fact it sums. The facts come from the platform's own data
(:func:`helan.services.region_indicators.tenant_facts`); here they are only added up, per
division (the tenant's county, its prefecture, its province) and per industry (every
industry, the tenant's GB/T 4754 section, its division), so the same code serves the daily
job, the page and the benchmark.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from helan.region.divisions import ancestry
from helan.region.industries import section_of

# The plans are written for Chinese regions: a "day" of the series is a day in China.
PLAN_ZONE = ZoneInfo("Asia/Shanghai")
ACTIVE_DAYS = 30  # "on the cloud": sent data within this many days
ALL = ""  # the industry key of "every industry"


@dataclass(frozen=True, slots=True, kw_only=True)
class Indicator:
    id: str
    fact: str  # the TenantFacts field summed over the tenants
    unit_zh: str
    unit_en: str
    name_zh: str
    name_en: str
    definition_zh: str
    definition_en: str


INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        id="enterprises_on_cloud",
        fact="on_cloud",
        unit_zh="家",
        unit_en="enterprises",
        name_zh="上云企业",
        name_en="Enterprises on the cloud",
        definition_zh=f"状态为启用、且至少一台设备在最近 {ACTIVE_DAYS} 天内上报过数据的租户",
        definition_en=(
            f"active tenant with at least one device that sent data in the last {ACTIVE_DAYS} days"
        ),
    ),
    Indicator(
        id="enterprises_registered",
        fact="registered",
        unit_zh="家",
        unit_en="enterprises",
        name_zh="注册企业",
        name_en="Enterprises registered",
        definition_zh="平台上状态为启用的租户",
        definition_en="active tenant of the platform",
    ),
    Indicator(
        id="devices_connected",
        fact="devices_connected",
        unit_zh="台",
        unit_en="devices",
        name_zh="连接设备",
        name_en="Devices connected",
        definition_zh="启用租户中至少连接过一次（有上线事件）的现存设备",
        definition_en="existing device of an active tenant that came online at least once",
    ),
    Indicator(
        id="devices_online",
        fact="devices_online",
        unit_zh="台",
        unit_en="devices",
        name_zh="在线设备",
        name_en="Devices online",
        definition_zh="计算时最近一次状态变化为上线的设备",
        definition_en="device whose last online/offline transition was coming online",
    ),
    Indicator(
        id="identifiers_registered",
        fact="identifiers",
        unit_zh="个",
        unit_en="identifiers",
        name_zh="标识注册量",
        name_en="Identifiers registered",
        definition_zh="启用租户的设备与产品中带工业互联网标识的数量（由标识节点解析）",
        definition_en=(
            "devices and products of active tenants with an industrial identifier (served by "
            "the identifier node)"
        ),
    ),
    Indicator(
        id="apps_in_use",
        fact="apps",
        unit_zh="个",
        unit_en="installs",
        name_zh="工业 App 应用",
        name_en="Industrial apps in use",
        definition_zh="启用租户已安装且启用的工业 App（每个租户每个 App 计一次）",
        definition_en="app installed and enabled by an active tenant (each tenant's app once)",
    ),
)
BY_ID: dict[str, Indicator] = {i.id: i for i in INDICATORS}


@dataclass(slots=True, kw_only=True)
class TenantFacts:
    """What one tenant contributes; an inactive (suspended) tenant contributes nothing."""

    tenant: str
    region: str | None
    industry: str | None  # GB/T 4754 section or division code
    active: bool
    devices_connected: int = 0
    devices_active: int = 0  # sent data in the last ACTIVE_DAYS days
    devices_online: int = 0
    identifiers: int = 0
    apps: int = 0

    @property
    def registered(self) -> int:
        return 1 if self.active else 0

    @property
    def on_cloud(self) -> int:
        return 1 if self.active and self.devices_active > 0 else 0

    def value(self, fact: str) -> int:
        if not self.active:
            return 0
        got: int = getattr(self, fact)
        return got


Key = tuple[str, str, str]  # (division code, industry key, indicator id)


def industry_keys(code: str | None) -> list[str]:
    """Every industry key a tenant of ``code`` counts under: all, its section, its division."""
    keys = [ALL]
    section = section_of(code)
    if section is not None:
        keys.append(section)
        if code is not None and code != section:
            keys.append(code)
    return keys


def aggregate(facts: Iterable[TenantFacts]) -> dict[Key, float]:
    """Sum the facts per division (every level above each tenant's region), industry key and
    indicator. Tenants without a region count nowhere (a region sees only its own)."""
    out: dict[Key, float] = defaultdict(float)
    for t in facts:
        if t.region is None or not t.active:
            continue
        values = [(i.id, t.value(i.fact)) for i in INDICATORS]
        for division in ancestry(t.region):
            for industry in industry_keys(t.industry):
                for indicator, v in values:
                    out[(division, industry, indicator)] += v
    return dict(out)
