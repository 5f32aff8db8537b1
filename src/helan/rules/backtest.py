"""What a rule would have raised over a stored time range, before it is saved.

The stored points and events of the target's devices are evaluated by a fresh evaluator in
one-minute slices, each slice followed by a tick at its end, so that conditions decided by the
passing of time (no data, held durations, event holds, schedules) behave as they would have
live, to within a minute. Nothing is written: the result lists the changes and sums them up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from helan.core.errors import ValidationFailed
from helan.rules.contracts import ConditionChange
from helan.rules.evaluator import ActiveRule, Evaluator
from helan.rules.model import RuleSpec
from helan.storage.meta.events import EventStore
from helan.storage.telemetry.base import TelemetryStore

SLICE_MS = 60_000
MAX_RANGE_MS = 7 * 24 * 3600_000 + 60_000
MAX_POINTS = 5_000_000
MAX_CHANGES = 1000


@dataclass(slots=True)
class Backtest:
    start_ms: int
    end_ms: int
    devices: int
    points: int
    events: int
    raised: int = 0
    cleared: int = 0
    active_ms: dict[str, int] = field(default_factory=dict)  # device -> time active
    changes: list[ConditionChange] = field(default_factory=list)
    truncated: bool = False


def backtest(
    *,
    tenant: str,
    spec: RuleSpec,
    devices: frozenset[str],
    telemetry: TelemetryStore,
    events: EventStore,
    start_ms: int,
    end_ms: int,
) -> Backtest:
    if not 0 < end_ms - start_ms <= MAX_RANGE_MS:
        raise ValidationFailed("a backtest covers more than 0 and at most 7 days")
    rule = ActiveRule(tenant, "backtest", 0, spec.model_copy(update={"enabled": True}), devices)
    evaluator = Evaluator([rule])
    metrics = sorted(evaluator.rules[0].metrics) if evaluator.rules else []
    table = telemetry.between(tenant, start_ms, end_ms, metrics, MAX_POINTS) if metrics else None
    if table is not None and table.num_rows:
        table = table.filter(
            pc.is_in(table["device"], value_set=pa.array(sorted(devices), pa.string()))
        )
        table = table.sort_by([("ts", "ascending")])
    rows = [r for r in events.since(tenant, start_ms, end_ms) if r.device in devices]
    result = Backtest(
        start_ms, end_ms, len(devices), table.num_rows if table is not None else 0, len(rows)
    )
    ts = table["ts"].to_numpy() if table is not None and table.num_rows else None
    since: dict[str, int] = {}
    at = start_ms
    while at < end_ms:
        stop = min(at + SLICE_MS, end_ms)
        found: list[ConditionChange] = []
        if ts is not None:
            lo, hi = int(ts.searchsorted(at)), int(ts.searchsorted(stop))
            if hi > lo:
                found += evaluator.points(table.slice(lo, hi - lo))  # type: ignore[union-attr]
        found += evaluator.events([r for r in rows if at <= r.ts < stop])
        found += evaluator.tick(stop)
        for change in found:
            if change.active:
                result.raised += 1
                since[change.device] = change.ts_ms
            else:
                result.cleared += 1
                begun = since.pop(change.device, None)
                if begun is not None:
                    result.active_ms[change.device] = (
                        result.active_ms.get(change.device, 0) + change.ts_ms - begun
                    )
            if len(result.changes) < MAX_CHANGES:
                result.changes.append(change)
            else:
                result.truncated = True
        at = stop
    for device, begun in since.items():
        result.active_ms[device] = result.active_ms.get(device, 0) + end_ms - begun
    return result
