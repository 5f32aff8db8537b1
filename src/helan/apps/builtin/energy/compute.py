"""The energy centre's figures from the store: consumption per 15-minute interval from each
meter's cumulative counter, rolled up the asset tree (site → line → machine), time-of-use cost,
CO2, power factor, output and intensity, and the EnPI against a stated baseline.

Counters are read as each interval's last reading (the store's ``last`` aggregate), so a month
is 2,976 values per meter, not 2.6 million raw points; increments between intervals handle
resets and rollovers (``equipment.counters``). A reset inside an interval loses what was
counted between that interval's start and the reset: at most one interval of one meter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from helan.apps.builtin.energy.enpi import (
    Baseline,
    BaselineError,
    compare,
    fit_baseline,
    intensity,
    power_factor,
)
from helan.apps.builtin.energy.factors import Factor, emissions_kg
from helan.apps.builtin.energy.tariff import Tariff
from helan.apps.builtin.equipment.counters import increments
from helan.apps.sdk import AssetInfo, DeviceInfo, TenantScope

INTERVAL_MS = 900_000
ENERGY = "energy_total"
ACTIVE, REACTIVE = "active_power", "reactive_power"
PARTS = "part_count"
METER_TYPES = ("power-meter",)
MACHINE_TYPES = ("cnc-machine", "stamping-press")
FloatArray = npt.NDArray[np.float64]


def intervals(start_ms: int, end_ms: int) -> npt.NDArray[np.int64]:
    first = start_ms // INTERVAL_MS * INTERVAL_MS
    return np.arange(first, end_ms, INTERVAL_MS, dtype=np.int64)


def _by_bucket(table: pa.Table, metric: str, grid: npt.NDArray[np.int64]) -> FloatArray:
    out = np.full(grid.size, np.nan)
    rows = table.filter(pa.compute.equal(table["metric"], metric))
    index = {int(t): i for i, t in enumerate(grid.tolist())}
    for b, v in zip(rows["bucket"].to_pylist(), rows["value"].to_pylist(), strict=True):
        i = index.get(int(b))
        if i is not None and v is not None:
            out[i] = v
    return out


def counter_per_interval(
    lasts: FloatArray,
    grid: npt.NDArray[np.int64],
    *,
    firsts: FloatArray | None = None,
    rollover: float | None = None,
) -> FloatArray:
    """What a counter counted in each interval, from each interval's last reading (and the one
    before the window at index 0, not reported); NaN where an interval has no reading, its
    count going to the next interval that has one. With ``firsts`` (each interval's first
    reading), a counter first heard of inside the window counts from its first reading, so a
    meter that just came online shows its first interval."""
    lasts = lasts.copy()
    seen = np.flatnonzero(np.isfinite(lasts))
    if firsts is not None and seen.size and seen[0] > 0 and np.isfinite(firsts[seen[0]]):
        lasts[seen[0] - 1] = firsts[seen[0]]
    inc = increments(grid.tolist(), lasts.tolist(), rollover=rollover)
    out = np.full(grid.size, np.nan)
    index = {int(t): i for i, t in enumerate(grid.tolist())}
    for t, d in zip(inc.end_ms.tolist(), inc.delta.tolist(), strict=True):
        out[index[int(t)]] = d
    return out[1:]


@dataclass
class Series:
    """Per-interval values of one device over the window (the grid without its lead-in)."""

    kwh: FloatArray | None = None
    active_kw: FloatArray | None = None
    reactive_kvar: FloatArray | None = None
    parts: FloatArray | None = None


async def load_meter(scope: TenantScope, device: str, grid: npt.NDArray[np.int64]) -> Series:
    start, end = int(grid[0]), int(grid[-1]) + INTERVAL_MS
    lasts = await scope.aggregate(device, [ENERGY], start, end, bucket_ms=INTERVAL_MS, fn="last")
    firsts = await scope.aggregate(device, [ENERGY], start, end, bucket_ms=INTERVAL_MS, fn="first")
    means = await scope.aggregate(
        device, [ACTIVE, REACTIVE], start, end, bucket_ms=INTERVAL_MS, fn="avg"
    )
    return Series(
        kwh=counter_per_interval(
            _by_bucket(lasts, ENERGY, grid), grid, firsts=_by_bucket(firsts, ENERGY, grid)
        ),
        active_kw=_by_bucket(means, ACTIVE, grid)[1:],
        reactive_kvar=_by_bucket(means, REACTIVE, grid)[1:],
    )


async def load_machine(scope: TenantScope, device: str, grid: npt.NDArray[np.int64]) -> Series:
    start, end = int(grid[0]), int(grid[-1]) + INTERVAL_MS
    lasts = await scope.aggregate(device, [PARTS], start, end, bucket_ms=INTERVAL_MS, fn="last")
    firsts = await scope.aggregate(device, [PARTS], start, end, bucket_ms=INTERVAL_MS, fn="first")
    return Series(
        parts=counter_per_interval(
            _by_bucket(lasts, PARTS, grid), grid, firsts=_by_bucket(firsts, PARTS, grid)
        )
    )


@dataclass
class Node:
    id: str
    name: str
    kind: str
    parent: str | None
    meters: list[str] = field(default_factory=list)
    machines: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)


def hierarchy(
    assets: Sequence[AssetInfo],
    devices: Sequence[DeviceInfo],
    meter_types: Sequence[str] = METER_TYPES,
    machine_types: Sequence[str] = MACHINE_TYPES,
) -> dict[str, Node]:
    """The meter hierarchy: each asset with the meters and machines attached to it or below."""
    nodes = {a.id: Node(a.id, a.name, a.kind, a.parent) for a in assets}
    for a in assets:
        if a.parent in nodes:
            nodes[a.parent].children.append(a.id)
    for d in devices:
        if not d.enabled or d.asset not in nodes:
            continue
        kind = "meters" if d.device_type in meter_types else None
        kind = kind or ("machines" if d.device_type in machine_types else None)
        if kind is None:
            continue
        at: str | None = d.asset
        for _ in range(32):  # the asset service caps the depth well below this
            if at is None or at not in nodes:
                break
            getattr(nodes[at], kind).append(d.id)
            at = nodes[at].parent
    return nodes


def _sum(series: Sequence[FloatArray | None], n: int) -> FloatArray:
    out = np.zeros(n)
    for s in series:
        if s is not None:
            out += np.nan_to_num(s)
    return out


def node_figures(
    node: Node,
    data: dict[str, Series],
    grid: npt.NDArray[np.int64],
    tariff: Tariff,
    factor: Factor,
) -> dict[str, Any]:
    n = grid.size - 1
    kwh = _sum([data[m].kwh for m in node.meters], n)
    parts = _sum([data[m].parts for m in node.machines], n)
    p = _sum([data[m].active_kw for m in node.meters], n)
    q = _sum([data[m].reactive_kvar for m in node.meters], n)
    total = float(kwh.sum())
    output = float(parts.sum())
    return {
        "id": node.id,
        "name": node.name,
        "kind": node.kind,
        "parent": node.parent,
        "meters": len(node.meters),
        "machines": len(node.machines),
        "kwh": total,
        "co2_kg": emissions_kg(total, factor),
        "tariff": tariff.cost(grid[1:], kwh),
        "parts": output,
        "kwh_per_part": intensity(total, output),
        "power_factor": power_factor(float(p.sum()), float(q.sum())) if node.meters else None,
        "series_kwh": kwh.round(3).tolist(),
    }


def baseline_for(
    kwh: FloatArray, parts: FloatArray, period: tuple[str, str]
) -> tuple[Baseline | None, str]:
    """EnB of energy per interval against output per interval; None with the reason when it
    cannot be fitted (too few intervals, no output variation)."""
    try:
        return fit_baseline(kwh, {"parts": parts}, period=period), "ok"
    except BaselineError as exc:
        return None, f"no_baseline: {exc}"


def enpi(base: Baseline | None, kwh: FloatArray, parts: FloatArray) -> dict[str, Any]:
    if base is None:
        return {"enpi_ratio": None}
    perf = compare(base, kwh, {"parts": parts})
    return {
        "enpi_ratio": perf.enpi_ratio,
        "expected_kwh": perf.expected,
        "measured_kwh": perf.measured,
        "savings_kwh": perf.savings,
    }


def rollup(nodes: dict[str, Node]) -> list[Node]:
    """Nodes root first, then their children (the report's order)."""
    out: list[Node] = []
    seen: set[str] = set()

    def walk(node_id: str) -> None:
        if node_id in seen:
            return
        seen.add(node_id)
        out.append(nodes[node_id])
        for c in sorted(nodes[node_id].children):
            walk(c)

    for root in sorted(k for k, v in nodes.items() if v.parent not in nodes):
        walk(root)
    return out
