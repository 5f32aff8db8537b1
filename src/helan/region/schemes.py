"""Subsidy and cloud-voucher (云服务券) schemes as rules held as data, applications' invoices,
and the entitlement computed from them with every step shown.

A scheme reimburses ``share`` of an enterprise's invoiced cost of ``eligible_services``, at
most ``annual_cap_fen`` per enterprise and year, for at most ``years`` years per enterprise;
``eligibility`` narrows who may apply (industries, divisions, devices connected). Money is
in fen (1/100 yuan) throughout, and shares are rounded down to the fen, so what the page
shows adds up to what is paid.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from helan.core.errors import ValidationFailed
from helan.region.divisions import in_region, known
from helan.region.industries import industries, section_of

# What a scheme may reimburse: the platform services an enterprise pays a provider for.
SERVICES: dict[str, tuple[str, str]] = {
    "cloud_hosting": ("云主机与存储", "cloud hosting and storage"),
    "iiot_platform": ("工业互联网平台服务", "industrial internet platform service"),
    "industrial_apps": ("工业 App 订阅", "industrial app subscriptions"),
    "identifier_services": ("标识解析服务", "identifier resolution service"),
    "security_services": ("工业安全服务", "industrial security service"),
    "data_services": ("数据采集与分析服务", "data acquisition and analytics"),
}
KINDS = ("voucher", "subsidy")


@dataclass(frozen=True, slots=True, kw_only=True)
class Rules:
    share: float
    annual_cap_fen: int
    years: int
    eligible_services: tuple[str, ...]
    industries: tuple[str, ...] = ()  # GB/T 4754 sections or divisions; empty: every one
    regions: tuple[str, ...] = ()  # divisions inside the scheme's; empty: all of it
    min_devices_connected: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "share": self.share,
            "annual_cap_fen": self.annual_cap_fen,
            "years": self.years,
            "eligible_services": list(self.eligible_services),
            "industries": list(self.industries),
            "regions": list(self.regions),
            "min_devices_connected": self.min_devices_connected,
        }


def check_rules(doc: dict[str, Any], *, region: str) -> Rules:
    """The rules of ``doc`` for a scheme of ``region``, or every problem with its field."""
    problems: list[str] = []
    share = doc.get("share")
    if not isinstance(share, int | float) or not (0 < share <= 1) or not math.isfinite(share):
        problems.append("rules.share: a share of the cost, more than 0 and at most 1")
    cap = doc.get("annual_cap_fen")
    if not isinstance(cap, int) or isinstance(cap, bool) or cap <= 0:
        problems.append("rules.annual_cap_fen: a positive whole number of fen")
    years = doc.get("years")
    if not isinstance(years, int) or isinstance(years, bool) or not 1 <= years <= 10:
        problems.append("rules.years: 1 to 10 years per enterprise")
    services = list(doc.get("eligible_services") or [])
    if not services:
        problems.append("rules.eligible_services: at least one service")
    for i, s in enumerate(services):
        if s not in SERVICES:
            problems.append(
                f"rules.eligible_services[{i}]: unknown service {s!r} "
                f"(one of {', '.join(SERVICES)})"
            )
    inds = [str(c).upper() for c in doc.get("industries") or []]
    for i, c in enumerate(inds):
        if c not in industries():
            problems.append(f"rules.industries[{i}]: unknown GB/T 4754-2017 code {c!r}")
    regs = [str(c) for c in doc.get("regions") or []]
    for i, c in enumerate(regs):
        if not known(c):
            problems.append(f"rules.regions[{i}]: unknown administrative division code {c!r}")
        elif not in_region(region, c):
            problems.append(f"rules.regions[{i}]: {c!r} does not lie in the scheme's {region!r}")
    min_dev = doc.get("min_devices_connected", 0)
    if not isinstance(min_dev, int) or isinstance(min_dev, bool) or min_dev < 0:
        problems.append("rules.min_devices_connected: a whole number, 0 or more")
    if problems:
        raise ValidationFailed("; ".join(problems))
    return Rules(
        share=float(share),  # type: ignore[arg-type]
        annual_cap_fen=int(cap),  # type: ignore[arg-type]
        years=int(years),  # type: ignore[arg-type]
        eligible_services=tuple(dict.fromkeys(services)),
        industries=tuple(inds),
        regions=tuple(regs),
        min_devices_connected=int(min_dev),
    )


def rules_of(stored: dict[str, Any]) -> Rules:
    return Rules(
        share=float(stored["share"]),
        annual_cap_fen=int(stored["annual_cap_fen"]),
        years=int(stored["years"]),
        eligible_services=tuple(stored["eligible_services"]),
        industries=tuple(stored.get("industries", ())),
        regions=tuple(stored.get("regions", ())),
        min_devices_connected=int(stored.get("min_devices_connected", 0)),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SchemeSpan:
    id: str
    region: str
    valid_from: date
    valid_to: date
    services: frozenset[str]


def overlap(new: SchemeSpan, others: Sequence[SchemeSpan]) -> SchemeSpan | None:
    """An existing scheme that would pay for the same costs as ``new``: its area contains or
    lies in the new one's, its period intersects, and it reimburses a service in common."""
    for o in others:
        nested = in_region(o.region, new.region) or in_region(new.region, o.region)
        dates = o.valid_from <= new.valid_to and new.valid_from <= o.valid_to
        if nested and dates and o.services & new.services:
            return o
    return None


# --- applications -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Invoice:
    number: str
    issuer: str
    issued_on: date
    service: str
    lines: tuple[int, ...]  # fen
    total_fen: int


def check_invoices(docs: Sequence[dict[str, Any]], *, year: int) -> list[Invoice]:
    """Invoices whose lines add up to their total, dated in ``year``, each number once."""
    problems: list[str] = []
    out: list[Invoice] = []
    seen: dict[str, int] = {}
    if not docs:
        problems.append("invoices: at least one invoice")
    for i, d in enumerate(docs):
        at = f"invoices[{i}]"
        number = str(d["number"])
        lines = [int(line["amount_fen"]) for line in d["lines"]]
        total = int(d["total_fen"])
        issued: date = d["issued_on"]
        if sum(lines) != total:
            problems.append(
                f"{at}.total_fen: {total} disagrees with its lines, which add up to {sum(lines)}"
            )
        if issued.year != year:
            problems.append(f"{at}.issued_on: {issued.isoformat()} is not in {year}")
        if d["service"] not in SERVICES:
            problems.append(f"{at}.service: unknown service {d['service']!r}")
        if number in seen:
            problems.append(f"{at}.number: {number!r} repeats invoices[{seen[number]}]")
        seen.setdefault(number, i)
        out.append(
            Invoice(
                number=number,
                issuer=str(d["issuer"]),
                issued_on=issued,
                service=str(d["service"]),
                lines=tuple(lines),
                total_fen=total,
            )
        )
    if problems:
        raise ValidationFailed("; ".join(problems))
    return out


def eligibility_problems(
    rules: Rules,
    *,
    scheme_region: str,
    tenant_region: str | None,
    tenant_industry: str | None,
    devices_connected: int,
) -> list[str]:
    """Why an enterprise may not apply (empty: it may)."""
    out = []
    areas = rules.regions or (scheme_region,)
    if not any(in_region(a, tenant_region) for a in areas):
        out.append(f"the enterprise's region {tenant_region!r} is outside {', '.join(areas)}")
    if rules.industries:
        codes = {tenant_industry, section_of(tenant_industry)}
        if not codes & set(rules.industries):
            out.append(
                f"the enterprise's industry {tenant_industry!r} is not one of "
                f"{', '.join(rules.industries)}"
            )
    if devices_connected < rules.min_devices_connected:
        out.append(
            f"{devices_connected} devices connected, the scheme asks for "
            f"{rules.min_devices_connected}"
        )
    return out


@dataclass(slots=True, kw_only=True)
class Step:
    step: str
    value_fen: int
    detail: dict[str, Any] = field(default_factory=dict)


def entitlement(
    rules: Rules,
    invoices: Sequence[Invoice],
    *,
    year: int,
    granted_this_year_fen: int,
    years_claimed: Sequence[int],
) -> list[Step]:
    """The computation, step by step; the last step's value is the amount."""
    invoiced = sum(i.total_fen for i in invoices)
    eligible = [i for i in invoices if i.service in rules.eligible_services]
    left_out = [i.number for i in invoices if i.service not in rules.eligible_services]
    eligible_fen = sum(i.total_fen for i in eligible)
    share_fen = math.floor(eligible_fen * rules.share)
    cap_left = max(0, rules.annual_cap_fen - granted_this_year_fen)
    capped = min(share_fen, cap_left)
    other_years = sorted(set(years_claimed) - {year})
    within_years = len(other_years) < rules.years
    amount = capped if within_years else 0
    return [
        Step(step="invoiced", value_fen=invoiced, detail={"invoices": len(invoices)}),
        Step(
            step="eligible",
            value_fen=eligible_fen,
            detail={"services": list(rules.eligible_services), "not_eligible": left_out},
        ),
        Step(step="share", value_fen=share_fen, detail={"share": rules.share}),
        Step(
            step="annual_cap",
            value_fen=capped,
            detail={
                "cap_fen": rules.annual_cap_fen,
                "granted_this_year_fen": granted_this_year_fen,
                "cap_left_fen": cap_left,
            },
        ),
        Step(
            step="years",
            value_fen=amount,
            detail={"years_allowed": rules.years, "other_years_claimed": other_years},
        ),
    ]
