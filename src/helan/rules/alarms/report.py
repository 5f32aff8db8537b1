"""The alarm-system performance report of ISA-18.2 (and EEMUA 191, whose figures it uses).

Everything is counted from the alarm history, so a report on last month is the same report
whenever it is asked for. An *alarm* here is an annunciated activation: a history row where
the condition became active and the alarm was shown to operators (``unack_active`` or
``ack_active``); activations while shelved, suppressed by design or out of service are not
annunciated and not counted, which is exactly what those states are for.

Definitions (times in epoch ms, the range ``[start, end)``):

- 10-minute periods start at ``start``; a last, shorter period counts as a whole one;
- alarm rate per operator: the period's alarms divided by ``operators``; the report gives the
  average over all periods and the peak;
- flood: a period with more than 10 alarms per operator; consecutive flood periods are listed
  as one flood;
- chattering: a (rule, device) with 3 or more activations within 60 s (a sliding window);
- stale: an alarm whose condition stayed active for more than 24 h, within the range;
- top 10: the (rule, device) pairs with the most alarms, with their share of all alarms.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from helan.core.errors import ValidationFailed
from helan.rules.alarms.states import ANNUNCIATED, State
from helan.rules.contracts import Severity
from helan.storage.meta import MetaStore
from helan.storage.meta.models_alarms import Alarm, AlarmHistory

PERIOD_MS = 10 * 60_000
FLOOD_THRESHOLD = 10  # alarms per operator per 10 minutes (more is a flood)
CHATTER_COUNT = 3
CHATTER_WINDOW_MS = 60_000
STALE_MS = 24 * 3_600_000
MAX_RANGE_MS = 90 * 86_400_000
MAX_OPERATORS = 1000
TOP = 10
# ISA-18.2 / EEMUA 191 performance targets, reported beside the figures.
TARGETS = {
    "average_per_10min_acceptable": 1,
    "average_per_10min_max_manageable": 2,
    "flood_threshold_per_10min": FLOOD_THRESHOLD,
    "percent_periods_in_flood_max": 1.0,
    "top10_percent_of_all_max": 5.0,
    "chattering_max": 0,
    "stale_max": 5,
}


@dataclass(frozen=True, slots=True)
class _Activation:
    ts: int
    rule_id: str
    device: str
    severity: str
    priority: int


def check_range(start_ms: int, end_ms: int, operators: int) -> None:
    if end_ms <= start_ms:
        raise ValidationFailed("end must be after start")
    if end_ms - start_ms > MAX_RANGE_MS:
        raise ValidationFailed("the report covers at most 90 days (end - start)")
    if not 1 <= operators <= MAX_OPERATORS:
        raise ValidationFailed(f"operators must be 1..{MAX_OPERATORS}")


def performance_report(
    meta: MetaStore, tenant: str, start_ms: int, end_ms: int, operators: int = 1
) -> dict[str, Any]:
    check_range(start_ms, end_ms, operators)
    with meta.session() as s:
        rows = s.execute(
            sa.select(
                AlarmHistory.ts_ms,
                AlarmHistory.rule_id,
                AlarmHistory.device,
                AlarmHistory.severity,
                AlarmHistory.priority,
            )
            .where(
                AlarmHistory.tenant_id == tenant,
                AlarmHistory.action == "activate",
                AlarmHistory.to_state.in_([st.value for st in ANNUNCIATED]),
                AlarmHistory.ts_ms >= start_ms,
                AlarmHistory.ts_ms < end_ms,
            )
            .order_by(AlarmHistory.ts_ms, AlarmHistory.id)
        ).all()
        activations = [_Activation(*r) for r in rows]
        stale = _stale(s, tenant, start_ms, end_ms)
    return {
        "start": start_ms,
        "end": end_ms,
        "operators": operators,
        "alarms": len(activations),
        **_rates(activations, start_ms, end_ms, operators),
        "chattering": _chattering(activations),
        "stale": stale,
        "top": _top(activations),
        "by_severity": _by(activations, "severity", [s.value for s in Severity]),
        "by_priority": _by(activations, "priority", ["1", "2", "3", "4"]),
        "targets": TARGETS,
    }


def _rates(acts: list[_Activation], start: int, end: int, operators: int) -> dict[str, Any]:
    periods = math.ceil((end - start) / PERIOD_MS)
    buckets = [0] * periods
    for a in acts:
        buckets[(a.ts - start) // PERIOD_MS] += 1
    floods: list[dict[str, int]] = []
    in_flood = 0
    for i, n in enumerate(buckets):
        if n / operators <= FLOOD_THRESHOLD:
            continue
        in_flood += 1
        p_start, p_end = start + i * PERIOD_MS, min(end, start + (i + 1) * PERIOD_MS)
        if floods and floods[-1]["end"] == p_start:
            floods[-1]["end"] = p_end
            floods[-1]["alarms"] += n
            floods[-1]["peak_per_10min"] = max(floods[-1]["peak_per_10min"], n)
        else:
            floods.append({"start": p_start, "end": p_end, "alarms": n, "peak_per_10min": n})
    return {
        "periods": periods,
        "per_period": buckets,
        "per_operator_per_10min": {
            "average": round(len(acts) / (periods * operators), 3),
            "peak": round(max(buckets, default=0) / operators, 3),
        },
        "flood": {
            "threshold": FLOOD_THRESHOLD,
            "periods_in_flood": in_flood,
            "percent_in_flood": round(100 * in_flood / periods, 2),
            "floods": floods,
        },
    }


def _chattering(acts: list[_Activation]) -> list[dict[str, Any]]:
    times: dict[tuple[str, str], list[int]] = defaultdict(list)
    for a in acts:
        times[(a.rule_id, a.device)].append(a.ts)
    found = []
    for (rule, device), ts in sorted(times.items()):
        most, lo = 0, 0
        for hi, t in enumerate(ts):
            while t - ts[lo] >= CHATTER_WINDOW_MS:
                lo += 1
            most = max(most, hi - lo + 1)
        if most >= CHATTER_COUNT:
            found.append(
                {"rule_id": rule, "device": device, "activations": len(ts), "max_per_minute": most}
            )
    return found


def _stale(s: Session, tenant: str, start: int, end: int) -> list[dict[str, Any]]:
    """Alarms whose condition was continuously active for more than 24 h, overlapping the
    range (intervals end at the return to normal, at a close, or at ``end``)."""
    candidates = (
        sa.select(Alarm.id)
        .where(
            Alarm.tenant_id == tenant,
            Alarm.raised_ts < end - STALE_MS,
            sa.or_(Alarm.cleared_ts.is_(None), Alarm.cleared_ts >= start),
        )
        .scalar_subquery()
    )
    rows = s.execute(
        sa.select(
            AlarmHistory.alarm_id,
            AlarmHistory.rule_id,
            AlarmHistory.device,
            AlarmHistory.ts_ms,
            AlarmHistory.action,
            AlarmHistory.to_state,
        )
        .where(AlarmHistory.alarm_id.in_(candidates), AlarmHistory.ts_ms < end)
        .order_by(AlarmHistory.alarm_id, AlarmHistory.id)
    ).all()
    longest: dict[str, dict[str, Any]] = {}
    since: dict[str, int | None] = {}

    def close(alarm: str, rule: str, device: str, at: int, still: bool) -> None:
        begun = since.get(alarm)
        since[alarm] = None
        if begun is None or at <= start or at - begun <= STALE_MS:
            return
        best = longest.get(alarm)
        if best is None or at - begun > best["active_s"] * 1000:
            longest[alarm] = {
                "alarm_id": alarm,
                "rule_id": rule,
                "device": device,
                "active_since": begun,
                "active_until": None if still else at,
                "active_s": (at - begun) // 1000,
            }

    last: dict[str, tuple[str, str]] = {}
    for alarm, rule, device, ts, action, to_state in rows:
        last[alarm] = (rule, device)
        if action == "activate":
            if since.get(alarm) is None:
                since[alarm] = ts
        elif action == "return" or to_state == State.NORMAL.value:
            close(alarm, rule, device, ts, still=False)
    for alarm, (rule, device) in last.items():
        close(alarm, rule, device, end, still=True)
    return sorted(longest.values(), key=lambda d: (-d["active_s"], d["alarm_id"]))


def _top(acts: list[_Activation]) -> list[dict[str, Any]]:
    counts = Counter((a.rule_id, a.device) for a in acts)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
    total = len(acts)
    return [
        {"rule_id": r, "device": d, "count": n, "percent": round(100 * n / total, 2)}
        for (r, d), n in ranked
    ]


def _by(acts: list[_Activation], attr: str, keys: list[str]) -> dict[str, int]:
    counts = Counter(str(getattr(a, attr)) for a in acts)
    return {k: counts.get(k, 0) for k in keys}
