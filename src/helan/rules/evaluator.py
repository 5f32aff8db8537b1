"""Rule evaluation over committed data: Arrow batches in, condition changes out.

Threshold and range conditions, the common case, are evaluated column-wise: each one is put in
a *layer* of its metric and operator, a layer holds at most one condition per device, so one
numpy comparison of a batch's values against ``threshold[device]`` evaluates every condition of
the layer at once, and only the rows where a condition *changes* reach Python. Thousands of
rules on thousands of devices cost a few array operations per batch. The other conditions
(expressions, windows, rate of change, events, schedules, no data) are evaluated per point or
per event in Python, on the rows they read only (filtered column-wise first).

Order and time (the late-data policy, docs/rules.md):

- points of one device are evaluated in commit order, which is the order they were sent;
- a point whose time is not after the last point the rules saw of that device and metric is
  *late*: stored, but not evaluated (counted in ``late``): a condition's state only moves
  forward in device time, which is also what makes a replay after a restart idempotent;
  points out of order within one batch are late the same way; an event before the device's
  last event, or at the time of the last one of its type, is late too;
- durations (``for_s``, ``clear_for_s``) and windows are measured in device time; conditions
  that become true with the passing of time alone (no data, a held duration, an event's hold,
  a schedule) are checked by :meth:`Evaluator.tick` against the wall clock, but dated when
  they happened (a silence when it passed ``for_s``, a hold when it ran out); data ends a
  no-data condition at once, at the time of the point that ended it;
- a leaf without a value yet is unknown, and stays unknown through ``not``.

Each change carries the time it happened in device time: the key (rule, device, time, active)
the alarms use to apply each change once.
"""

from __future__ import annotations

import collections
import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from helan.core.events import EventRow
from helan.rules.contracts import ConditionChange, Severity
from helan.rules.expr import CompiledExpr, compile_expr
from helan.rules.model import (
    WEEKDAYS,
    Aggregate,
    AllOf,
    AnyOf,
    Condition,
    EventMatch,
    Expression,
    NoData,
    Not,
    Online,
    Range,
    RateOfChange,
    RuleSpec,
    Schedule,
    Threshold,
    leaves,
)

log = logging.getLogger(__name__)

ONLINE, OFFLINE = "device_online", "device_offline"
Scalar = float | bool | str | None
_TEMPLATE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.\-]{0,99})\}")
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    ">": np.greater,
    ">=": np.greater_equal,
    "<": np.less,
    "<=": np.less_equal,
    "==": np.equal,
    "!=": np.not_equal,
}


@dataclass(frozen=True, slots=True)
class ActiveRule:
    """A rule as the evaluator runs it: spec plus the devices it covers now."""

    tenant: str
    rule_id: str
    version: int
    spec: RuleSpec
    devices: frozenset[str]


@dataclass(slots=True)
class _Pair:
    """One rule on one device: leaf values, the condition, its duration clock."""

    leaf: list[bool | None]
    cond: bool = False
    since_ms: int = 0  # when ``cond`` took its current value
    active: bool = False
    suppressed: bool = False
    supp: list[bool | None] = field(default_factory=list)
    values: dict[str, Scalar] = field(default_factory=dict)


@dataclass(slots=True)
class _LeafRef:
    rule: int  # index in Evaluator.rules
    leaf: int  # index of the leaf in the rule's condition (suppress leaves follow them)
    node: Any


@dataclass(slots=True)
class _Layer:
    """Threshold/range leaves of one metric, at most one per device (by device code)."""

    metric: str
    op: str  # one of _OPS, or "out"/"in" for ranges
    lo: np.ndarray  # threshold (or range min) per device code; NaN: no leaf
    hi: np.ndarray  # range max
    target: np.ndarray  # leaf ref index per device code (-1: none)
    state: np.ndarray  # int8: -1 unknown, 0 false, 1 true
    last_ts: np.ndarray  # int64: the last point evaluated


class _Compiled:
    """A rule's condition tree with its leaves numbered, suppress leaves after condition's."""

    def __init__(self, rule: ActiveRule) -> None:
        self.rule = rule
        self.leaves = [leaf for _, leaf in leaves(rule.spec.condition)]
        self.n_cond = len(self.leaves)
        if rule.spec.suppress is not None:
            self.leaves += [leaf for _, leaf in leaves(rule.spec.suppress)]
        self.exprs: dict[int, CompiledExpr] = {
            i: compile_expr(leaf.expr)
            for i, leaf in enumerate(self.leaves)
            if isinstance(leaf, Expression)
        }
        self.timed = any(isinstance(x, NoData | EventMatch | Schedule) for x in self.leaves)
        read: set[str] = set()
        for i, leaf in enumerate(self.leaves):
            if i in self.exprs:
                read |= self.exprs[i].names
            elif isinstance(metric := getattr(leaf, "metric", None), str):
                read.add(metric)
        self.metrics = frozenset(read)

    def value(self, node: Condition, leaf_values: list[bool | None], start: int = 0) -> bool:
        """Whether the tree holds. A leaf without a value yet (or undefined) is unknown, and
        unknown stays unknown through ``not`` (Kleene's logic): ``not: online`` does not hold
        before the first online event; an unknown tree does not hold."""
        counter = [start]

        def walk(n: Condition) -> bool | None:
            if isinstance(n, AllOf | AnyOf):
                kids = [walk(c) for c in (n.all if isinstance(n, AllOf) else n.any)]
                decisive = isinstance(n, AnyOf)  # every leaf consumes its index
                if decisive in kids:
                    return decisive
                return None if None in kids else not decisive
            if isinstance(n, Not):
                inner = walk(n.not_)
                return None if inner is None else not inner
            i = counter[0]
            counter[0] += 1
            return leaf_values[i]

        return walk(node) is True


def _schedule_holds(s: Schedule, ts_ms: int) -> bool:
    local = datetime.fromtimestamp(ts_ms / 1000, UTC).astimezone(ZoneInfo(s.timezone))
    if local.date().isoformat() in s.exclude:
        return False
    t = local.time()
    day = WEEKDAYS[local.weekday()]
    if s.start == s.end:  # all day
        return day in s.days
    if s.start < s.end:
        return day in s.days and s.start <= t < s.end
    # across midnight: the shift belongs to the day it started
    if t >= s.start:
        return day in s.days
    yesterday = WEEKDAYS[(local.weekday() - 1) % 7]
    return t < s.end and yesterday in s.days


def _fresh(device: np.ndarray, ts: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Which points (grouped by device, in commit order) come after every point of their
    device before them: after ``last`` (the batches before) and after the earlier rows of
    this batch. Column-wise: a running maximum per device, of time ranks so that one running
    maximum over all devices serves (a group's offset keeps the groups apart)."""
    n = len(ts)
    same = np.zeros(n, bool)
    same[1:] = device[1:] == device[:-1]
    group = np.cumsum(~same) - 1
    rank = np.empty(n, np.int64)
    by_time = np.argsort(ts, kind="stable")
    rank[by_time] = np.arange(n)
    upto = ts[by_time][np.maximum.accumulate(group * n + rank) - group * n]
    before = np.empty_like(ts)
    before[1:] = upto[:-1]
    before[~same] = np.iinfo(np.int64).min
    fresh: np.ndarray = ts > np.maximum(last, before)
    return fresh


def _compare(op: str, a: float, b: float) -> bool:
    return bool(_OPS[op](a, b))


def _scalar(value: float | None, text: str | None) -> Scalar:
    if text is not None:
        return text
    if value is None or math.isnan(value):
        return None
    return value


def _matches(where: dict[str, Any], data: dict[str, object]) -> bool:
    for key, want in where.items():
        got = data.get(key)
        if isinstance(want, bool) or isinstance(got, bool):
            if got != want:
                return False
        elif isinstance(want, int | float) and isinstance(got, int | float):
            if float(got) != float(want):
                return False
        elif got != want:
            return False
    return True


class Evaluator:
    """Owned by one thread: the engine calls it from its worker, in commit order."""

    def __init__(self, rules: Sequence[ActiveRule] = (), *, historical: bool = False) -> None:
        self.historical = historical
        self.late = 0
        self.undefined = 0
        self.evaluated = 0
        self._pairs: dict[tuple[int, str], _Pair] = {}
        self.load(rules)

    # -- rules --------------------------------------------------------------------------

    def load(
        self, rules: Sequence[ActiveRule], carry: dict[str, Any] | None = None
    ) -> list[ConditionChange]:
        """Run ``rules`` from now on, keeping the state of rules and devices that stay.
        Returns the changes this makes: an active condition of a rule that is gone (deleted,
        disabled, no longer covering the device) returns to normal."""
        state = (
            carry if carry is not None else (self.snapshot() if hasattr(self, "rules") else None)
        )
        self.rules = [_Compiled(r) for r in rules if r.spec.enabled]
        keys: dict[tuple[str, str], int] = {}
        devices: dict[tuple[str, str], int] = {}
        for i, compiled in enumerate(self.rules):
            keys[(compiled.rule.tenant, compiled.rule.rule_id)] = i
            for device in sorted(compiled.rule.devices):
                devices.setdefault((compiled.rule.tenant, device), len(devices))
        self._rule_index = keys
        self._codes = devices
        self._code_names = list(devices)
        self._key_array = pa.array([f"{t}\x1f{d}" for t, d in devices], pa.string())
        self._build_layers()
        self._python_metrics = self._python_watch()
        self._no_data = any(isinstance(x, NoData) for c in self.rules for x in c.leaves)
        self._pairs = {}
        self._device_values: dict[int, dict[str, Scalar]] = collections.defaultdict(dict)
        self._last_seen: dict[tuple[int, str | None], int] = {}
        self._windows: dict[tuple[int, str, int], collections.deque[tuple[int, float]]] = {}
        self._event_until: dict[tuple[int, str, int], int] = {}
        self._event_ts: dict[tuple[int, str | None], int] = {}  # last event: device, its type
        self._last_py_ts: dict[tuple[int, str], int] = {}
        self._online: dict[int, bool] = {}
        self._pending: set[tuple[int, str]] = set()
        return self.restore(state) if state is not None else []

    def _build_layers(self) -> None:
        n = len(self._codes)
        self._layers: dict[str, list[_Layer]] = collections.defaultdict(list)
        self._refs: list[_LeafRef] = []
        for ri, compiled in enumerate(self.rules):
            tenant = compiled.rule.tenant
            for li, leaf in enumerate(compiled.leaves):
                if not isinstance(leaf, Threshold | Range) or isinstance(
                    getattr(leaf, "value", 0), bool | str
                ):
                    continue
                op = leaf.op if isinstance(leaf, Threshold) else ("in" if leaf.inside else "out")
                codes = [self._codes[(tenant, d)] for d in compiled.rule.devices]
                layer = next(
                    (
                        x
                        for x in self._layers[leaf.metric]
                        if x.op == op and (x.target[codes] == -1).all()
                    ),
                    None,
                )
                if layer is None:
                    layer = _Layer(
                        leaf.metric,
                        op,
                        np.full(n, np.nan),
                        np.full(n, np.nan),
                        np.full(n, -1, np.int64),
                        np.full(n, -1, np.int8),
                        np.full(n, np.iinfo(np.int64).min, np.int64),
                    )
                    self._layers[leaf.metric].append(layer)
                ref = len(self._refs)
                self._refs.append(_LeafRef(ri, li, leaf))
                if isinstance(leaf, Threshold):
                    layer.lo[codes] = float(leaf.value)
                else:
                    layer.lo[codes], layer.hi[codes] = leaf.min, leaf.max
                layer.target[codes] = ref
        self._layer_metrics = pa.array(sorted(self._layers), pa.string())

    def _python_watch(self) -> dict[str, dict[int, list[tuple[int, int]]]]:
        """Metric -> device code -> (rule, leaf) of the leaves evaluated in Python on points,
        and the mask of those (metric, device) pairs: a point is looked at in Python only when
        a leaf of its own device reads its metric, and reaches only that device's leaves."""
        watch: dict[str, dict[int, list[tuple[int, int]]]] = collections.defaultdict(dict)
        for ri, compiled in enumerate(self.rules):
            codes = [self._codes[(compiled.rule.tenant, d)] for d in compiled.rule.devices]
            for li, leaf in enumerate(compiled.leaves):
                if li in compiled.exprs:
                    names = compiled.exprs[li].names
                elif isinstance(leaf, Aggregate | RateOfChange) or (
                    isinstance(leaf, Threshold) and isinstance(leaf.value, bool | str)
                ):
                    names = frozenset((leaf.metric,))
                else:
                    continue
                for metric in names:
                    by_code = watch[metric]
                    for code in codes:
                        by_code.setdefault(code, []).append((ri, li))
        ordered = sorted(watch)
        self._python_names = pa.array(ordered, pa.string())
        self._python_mask = np.zeros((len(ordered), len(self._codes)), bool)
        for i, metric in enumerate(ordered):
            self._python_mask[i, list(watch[metric])] = True
        return watch

    def _pair(self, ri: int, device: str) -> _Pair:
        pair = self._pairs.get((ri, device))
        if pair is None:
            compiled = self.rules[ri]
            pair = _Pair(
                leaf=[None] * compiled.n_cond,
                supp=[None] * (len(compiled.leaves) - compiled.n_cond),
            )
            self._pairs[(ri, device)] = pair
        return pair

    # -- points ---------------------------------------------------------------------------

    def points(self, table: pa.Table, committed_ms: int = 0) -> list[ConditionChange]:
        """Evaluate one committed batch (POINT_SCHEMA)."""
        if not self.rules or table.num_rows == 0:
            return []
        keys = pc.binary_join_element_wise(table["tenant"], table["device"], "\x1f")
        codes = pc.index_in(keys, value_set=self._key_array)
        known = pc.is_valid(codes)
        if not pc.any(known).as_py():
            return []
        table = table.filter(known).append_column("code", pc.filter(codes, known))
        self.evaluated += table.num_rows
        found: list[
            tuple[int, int, int, int, bool | None, dict[str, Scalar]]
        ] = []  # code, row, ref...
        self._vector(table, found)
        self._python(table, found)
        heard = self._seen(table)
        changes: list[ConditionChange] = []
        found.sort(key=lambda f: (f[0], f[1]))
        ts_col = table["ts"].to_numpy()
        for code, row, ri, li, value, values in found:
            changes.extend(self._set(ri, code, li, value, int(ts_col[row]), values, committed_ms))
        changes.extend(self._heard(heard, committed_ms))
        changes.extend(self._due_in_data(table, committed_ms))
        return changes

    def _vector(self, table: pa.Table, found: list[Any]) -> None:
        if not self._layers:
            return
        rows = pc.is_in(table["metric"], value_set=self._layer_metrics)
        if not pc.any(rows).as_py():
            return
        index = np.flatnonzero(rows.to_numpy(zero_copy_only=False))
        sub = table.take(index)
        metric = sub["metric"].to_numpy(zero_copy_only=False)
        values = sub["value"].to_numpy(zero_copy_only=False).astype(np.float64)
        ts = sub["ts"].to_numpy()
        code = sub["code"].to_numpy()
        for name, layers in self._layers.items():
            mine = np.flatnonzero(metric == name)
            if not len(mine):
                continue
            for layer in layers:
                d = code[mine]
                take = layer.target[d] >= 0
                if not take.any():
                    continue
                order = np.argsort(d[take], kind="stable")  # by device, commit order kept
                rows_l = mine[take][order]
                d = code[rows_l]
                t = ts[rows_l]
                fresh = _fresh(d, t, layer.last_ts[d])
                self.late += int((~fresh).sum())
                rows_l, d, t = rows_l[fresh], d[fresh], t[fresh]
                if not len(rows_l):
                    continue
                v = values[rows_l]
                if layer.op == "out":
                    cond = (v < layer.lo[d]) | (v > layer.hi[d])
                elif layer.op == "in":
                    cond = (v >= layer.lo[d]) & (v <= layer.hi[d])
                else:
                    cond = _OPS[layer.op](v, layer.lo[d])
                state = np.where(np.isnan(v), -1, cond.astype(np.int8)).astype(np.int8)
                first = np.ones(len(d), bool)
                first[1:] = d[1:] != d[:-1]
                prev = np.empty_like(state)
                prev[1:] = state[:-1]
                prev[first] = layer.state[d[first]]
                changed = np.flatnonzero(state != prev)
                last = np.ones(len(d), bool)
                last[:-1] = d[1:] != d[:-1]
                layer.state[d[last]] = state[last]
                layer.last_ts[d[last]] = t[last]  # the latest: fresh times increase
                for k in changed:
                    leaf_ref = self._refs[int(layer.target[d[k]])]
                    s = int(state[k])
                    found.append(
                        (
                            int(d[k]),
                            int(index[rows_l[k]]),
                            leaf_ref.rule,
                            leaf_ref.leaf,
                            None if s < 0 else bool(s),
                            {name: float(v[k])},
                        )
                    )

    def _python(self, table: pa.Table, found: list[Any]) -> None:
        if not self._python_metrics:
            return
        which = pc.index_in(table["metric"], value_set=self._python_names)
        metric_index = pc.fill_null(which, -1).to_numpy()
        rows = metric_index >= 0
        rows[rows] = self._python_mask[metric_index[rows], table["code"].to_numpy()[rows]]
        if not rows.any():
            return
        index = np.flatnonzero(rows)
        sub = table.take(index)
        cols = [sub[c].to_pylist() for c in ("code", "metric", "ts", "value", "text")]
        # An expression is evaluated once per device and time, after all that time's metrics.
        waiting: dict[int, tuple[int, int, set[tuple[int, int]]]] = {}  # code -> ts, row, leaves
        for j, (code, metric, ts, value, text) in enumerate(zip(*cols, strict=True)):
            key = (code, metric)
            if ts <= self._last_py_ts.get(key, -(2**63)):
                self.late += 1
                continue
            held = waiting.get(code)
            if held is not None and held[0] != ts:
                self._expressions(code, held[1], held[2], found)
                del waiting[code]
            self._last_py_ts[key] = ts
            scalar = _scalar(value, text)
            self._device_values[code][metric] = scalar
            row = int(index[j])
            for ri, li in self._python_metrics[metric][code]:
                compiled = self.rules[ri]
                if li in compiled.exprs:
                    waiting.setdefault(code, (ts, row, set()))[2].add((ri, li))
                    continue
                result = self._point_leaf(compiled.leaves[li], ri, li, code, ts, scalar)
                found.append((code, row, ri, li, result, {metric: scalar}))
        for code, (_, row, due) in waiting.items():
            self._expressions(code, row, due, found)

    def _expressions(
        self, code: int, row: int, due: set[tuple[int, int]], found: list[Any]
    ) -> None:
        env = self._device_values[code]
        for ri, li in sorted(due):
            expr = self.rules[ri].exprs[li]
            result = expr(env)  # type: ignore[arg-type]
            if result is None:
                self.undefined += 1
            found.append((code, row, ri, li, result, {m: env.get(m) for m in expr.names}))

    def _point_leaf(
        self, leaf: Any, ri: int, li: int, code: int, ts: int, value: Scalar
    ) -> bool | None:
        if isinstance(leaf, Threshold):  # a bool or string comparison
            if value is None:
                return None
            want = leaf.value
            if isinstance(want, bool):
                got: Scalar = bool(value) if isinstance(value, float) else value
            else:
                got = value
            return (got == want) if leaf.op == "==" else (got != want)
        if not isinstance(value, float):
            return None
        window = self._windows.setdefault((code, leaf.metric, ri * 1000 + li), collections.deque())
        window.append((ts, value))
        horizon = ts - int(leaf.window_s * 1000)
        while window and window[0][0] < horizon:
            window.popleft()
        if isinstance(leaf, RateOfChange):
            if len(window) < 2 or window[-1][0] == window[0][0]:
                return None
            rate = (window[-1][1] - window[0][1]) / ((window[-1][0] - window[0][0]) / 1000)
            return _compare(leaf.op, rate, leaf.value)
        vals = [v for _, v in window]
        agg = {
            "avg": lambda: sum(vals) / len(vals),
            "min": lambda: min(vals),
            "max": lambda: max(vals),
            "count": lambda: float(len(vals)),
        }[leaf.fn]()
        return _compare(leaf.op, agg, leaf.value)

    def _seen(self, table: pa.Table) -> list[tuple[int, str | None, int]]:
        """Last point time per device (and per metric the no-data leaves name); returns
        (device, metric or None, time) where data came after what was seen before."""
        if not self._no_data:
            return []
        wanted = {x.metric for c in self.rules for x in c.leaves if isinstance(x, NoData)}
        grouped = table.group_by(["code", "metric"]).aggregate([("ts", "min"), ("ts", "max")])
        heard: list[tuple[int, str | None, int]] = []
        names = ("code", "metric", "ts_min", "ts_max")
        for code, metric, first, last in zip(*(grouped[c].to_pylist() for c in names), strict=True):
            for key in ((code, None), (code, metric)) if metric in wanted else ((code, None),):
                before = self._last_seen.get(key)
                if before is None or last > before:
                    self._last_seen[key] = last
                    heard.append(
                        (code, key[1], first if before is None or first > before else last)
                    )
        return heard

    def _heard(
        self, heard: Sequence[tuple[int, str | None, int]], committed_ms: int
    ) -> list[ConditionChange]:
        """Data ends a no-data condition at once, at the time of the point that ended it."""
        changes: list[ConditionChange] = []
        for code, metric, ts in sorted(heard, key=lambda h: h[2]):
            tenant, device = self._code_names[code]
            for ri, compiled in enumerate(self.rules):
                pair = self._pairs.get((ri, device))
                if pair is None or compiled.rule.tenant != tenant:
                    continue
                for li, leaf in enumerate(compiled.leaves):
                    now = pair.leaf[li] if li < compiled.n_cond else pair.supp[li - compiled.n_cond]
                    if isinstance(leaf, NoData) and leaf.metric == metric and now is True:
                        changes.extend(self._set(ri, code, li, False, ts, {}, committed_ms))
        return changes

    # -- events ---------------------------------------------------------------------------

    def events(self, rows: Sequence[EventRow], committed_ms: int = 0) -> list[ConditionChange]:
        changes: list[ConditionChange] = []
        if not self.rules:
            return changes
        for row in sorted(rows, key=lambda r: (r.tenant, r.device, r.ts)):
            code = self._codes.get((row.tenant, row.device))
            if code is None:
                continue
            # The late policy of points: an event before the device's last one, or at the time
            # of the last one of its type, was evaluated already (a replay) or comes too late.
            if row.ts < self._event_ts.get((code, None), -(2**63)) or row.ts <= self._event_ts.get(
                (code, row.event), -(2**63)
            ):
                self.late += 1
                continue
            self._event_ts[(code, None)] = self._event_ts[(code, row.event)] = row.ts
            if row.event in (ONLINE, OFFLINE):
                self._online[code] = row.event == ONLINE
            # device_offline is the watchdog's, dated last seen + its timeout: not a hearing
            if row.event != OFFLINE and row.ts > self._last_seen.get((code, None), -(2**63)):
                self._last_seen[(code, None)] = row.ts
                changes.extend(self._heard([(code, None, row.ts)], committed_ms))
            for ri, compiled in enumerate(self.rules):
                if compiled.rule.tenant != row.tenant or row.device not in compiled.rule.devices:
                    continue
                for li, leaf in enumerate(compiled.leaves):
                    result: bool | None
                    if isinstance(leaf, Online) and row.event in (ONLINE, OFFLINE):
                        result = (row.event == ONLINE) == (leaf.state == "online")
                    elif (
                        isinstance(leaf, EventMatch)
                        and row.event == leaf.type
                        and _matches(leaf.where, row.data)
                    ):
                        if leaf.clear_type is None:  # else it holds until the clearing event
                            self._event_until[(code, compiled.rule.rule_id, li)] = row.ts + int(
                                leaf.hold_s * 1000
                            )
                        result = True
                    elif (
                        isinstance(leaf, EventMatch)
                        and leaf.clear_type is not None
                        and row.event == leaf.clear_type
                        and _matches(leaf.clear_where, row.data)
                    ):
                        self._event_until.pop((code, compiled.rule.rule_id, li), None)
                        result = False
                    else:
                        continue
                    values: dict[str, Scalar] = {"event": row.event}
                    values.update(
                        {
                            k: v
                            for k, v in row.data.items()
                            if isinstance(v, int | float | bool | str)
                        }
                    )
                    changes.extend(self._set(ri, code, li, result, row.ts, values, committed_ms))
        return changes

    # -- time -----------------------------------------------------------------------------

    def tick(self, now_ms: int) -> list[ConditionChange]:
        """What the passing of time decides: held durations, no data, event holds, schedules."""
        changes: list[ConditionChange] = []
        for ri, compiled in enumerate(self.rules):
            if not compiled.timed:
                continue
            for device in compiled.rule.devices:
                code = self._codes[(compiled.rule.tenant, device)]
                for li, leaf in enumerate(compiled.leaves):
                    result: bool | None
                    # Each change is dated when it happened in device time, not when the
                    # tick noticed it, so that a replay dates it the same (its key).
                    at = now_ms
                    if isinstance(leaf, NoData):
                        seen = self._last_seen.get((code, leaf.metric))
                        if seen is None:
                            continue  # never heard since start: no baseline yet
                        due = seen + int(leaf.for_s * 1000)
                        result, at = (True, due) if now_ms >= due else (False, seen)
                    elif isinstance(leaf, EventMatch):
                        until = self._event_until.get((code, compiled.rule.rule_id, li))
                        if until is None or now_ms < until:
                            continue
                        self._event_until.pop((code, compiled.rule.rule_id, li), None)
                        result, at = False, until
                    elif isinstance(leaf, Schedule):
                        result = _schedule_holds(leaf, now_ms)
                    else:
                        continue
                    changes.extend(self._set(ri, code, li, result, at, {}, 0))
        for ri, device in list(self._pending):
            changes.extend(self._settle(ri, device, now_ms, 0))
        return changes

    def _due_in_data(self, table: pa.Table, committed_ms: int) -> list[ConditionChange]:
        """A held duration also completes when the device's later data passes it."""
        if not self._pending:
            return []
        grouped = table.group_by("code").aggregate([("ts", "max")])
        latest = dict(zip(grouped["code"].to_pylist(), grouped["ts_max"].to_pylist(), strict=True))
        changes: list[ConditionChange] = []
        for ri, device in list(self._pending):
            code = self._codes[(self.rules[ri].rule.tenant, device)]
            if code in latest:
                changes.extend(self._settle(ri, device, latest[code], committed_ms))
        return changes

    # -- state ----------------------------------------------------------------------------

    def _set(
        self,
        ri: int,
        code: int,
        li: int,
        value: bool | None,
        ts: int,
        values: dict[str, Scalar],
        committed_ms: int,
    ) -> list[ConditionChange]:
        compiled = self.rules[ri]
        device = self._code_names[code][1]
        pair = self._pair(ri, device)
        if li < compiled.n_cond:
            pair.leaf[li] = value
        else:
            pair.supp[li - compiled.n_cond] = value
        pair.values.update(values)
        if compiled.rule.spec.suppress is not None:
            pair.suppressed = compiled.value(compiled.rule.spec.suppress, pair.supp)
        cond = compiled.value(compiled.rule.spec.condition, pair.leaf)
        if cond != pair.cond:
            pair.cond, pair.since_ms = cond, ts
        return self._settle(ri, device, ts, committed_ms)

    def _settle(self, ri: int, device: str, ts: int, committed_ms: int) -> list[ConditionChange]:
        compiled = self.rules[ri]
        spec = compiled.rule.spec
        pair = self._pair(ri, device)
        if pair.cond == pair.active:
            self._pending.discard((ri, device))
            return []
        hold = spec.for_s if pair.cond else spec.clear_for_s
        due = pair.since_ms + int(hold * 1000)
        if ts < due:
            self._pending.add((ri, device))
            return []
        self._pending.discard((ri, device))
        pair.active = pair.cond
        return [self._change(compiled, device, pair, due, committed_ms)]

    def _change(
        self, compiled: _Compiled, device: str, pair: _Pair, ts: int, committed_ms: int
    ) -> ConditionChange:
        rule, spec = compiled.rule, compiled.rule.spec
        template = spec.message or spec.name
        values = dict(pair.values)
        message = _TEMPLATE.sub(lambda m: _show(values.get(m.group(1), m.group(0))), template)
        return ConditionChange(
            tenant=rule.tenant,
            rule_id=rule.rule_id,
            rule_version=rule.version,
            device=device,
            active=pair.active,
            ts_ms=ts,
            severity=Severity(spec.severity),
            message=message,
            values=values,
            historical=self.historical,
            notify_historical=spec.notify_historical,
            suppressed=pair.suppressed and pair.active,
            committed_ms=committed_ms,
        )

    def active(self) -> list[tuple[str, str, str]]:
        """(tenant, rule, device) of every active condition."""
        return [
            (self.rules[ri].rule.tenant, self.rules[ri].rule.rule_id, d)
            for (ri, d), p in self._pairs.items()
            if p.active
        ]

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to go on after a restart, keyed by names (not codes), so it
        survives a change of rules; plain data (pickled by the engine's checkpoint)."""
        pairs = {}
        for (ri, device), p in self._pairs.items():
            r = self.rules[ri].rule
            pairs[(r.tenant, r.rule_id, device)] = (
                r.version,
                list(p.leaf),
                p.cond,
                p.since_ms,
                p.active,
                p.suppressed,
                list(p.supp),
                dict(p.values),
            )
        layers = {}
        for group in self._layers.values():
            for layer in group:
                for code in np.flatnonzero(layer.target >= 0):
                    ref = self._refs[int(layer.target[code])]
                    r = self.rules[ref.rule].rule
                    device = self._code_names[int(code)][1]
                    layers[(r.tenant, r.rule_id, r.version, ref.leaf, device)] = (
                        int(layer.state[code]),
                        int(layer.last_ts[code]),
                    )
        names = self._code_names
        return {
            "pairs": pairs,
            "layers": layers,
            "values": {names[c]: dict(v) for c, v in self._device_values.items()},
            "seen": {(names[c], m): ts for (c, m), ts in self._last_seen.items()},
            "py_ts": {(names[c], m): ts for (c, m), ts in self._last_py_ts.items()},
            "online": {names[c]: v for c, v in self._online.items()},
            "windows": {(names[c], m, k): list(w) for (c, m, k), w in self._windows.items()},
            "events": {(names[c], r, li): until for (c, r, li), until in self._event_until.items()},
            "event_ts": {(names[c], e): ts for (c, e), ts in self._event_ts.items()},
            "pending": [
                (self.rules[ri].rule.tenant, self.rules[ri].rule.rule_id, d)
                for ri, d in self._pending
            ],
        }

    def restore(self, state: dict[str, Any]) -> list[ConditionChange]:
        """Take over ``state`` (from :meth:`snapshot`) for the rules loaded now; conditions
        active in it whose rule or device is gone return to normal (returned)."""
        codes, index = self._codes, self._rule_index
        gone: list[ConditionChange] = []
        for (tenant, rule_id, device), saved in state.get("pairs", {}).items():
            version, leaf, cond, since, active, suppressed, supp, values = saved
            ri = index.get((tenant, rule_id))
            if ri is None or device not in self.rules[ri].rule.devices:
                if active:
                    gone.append(
                        _returned(tenant, rule_id, version, device, values, self.historical)
                    )
                continue
            compiled = self.rules[ri]
            pair = self._pair(ri, device)
            pair.active, pair.values = active, values
            if version == compiled.rule.version:
                pair.leaf, pair.cond, pair.since_ms, pair.suppressed, pair.supp = (
                    leaf,
                    cond,
                    since,
                    suppressed,
                    supp,
                )
            else:  # a new version starts from unknown leaves; an active condition stays active
                pair.cond, pair.since_ms = active, since
        for (tenant, rule_id, version, li, device), (s, last_ts) in state.get("layers", {}).items():
            ri = index.get((tenant, rule_id))
            code = codes.get((tenant, device))
            if ri is None or code is None or self.rules[ri].rule.version != version:
                continue
            for layer in self._layers.get(getattr(self.rules[ri].leaves[li], "metric", ""), []):
                ref = layer.target[code]
                if ref >= 0 and self._refs[int(ref)].rule == ri and self._refs[int(ref)].leaf == li:
                    layer.state[code], layer.last_ts[code] = s, last_ts
        for name, values in state.get("values", {}).items():
            if name in codes:
                self._device_values[codes[name]] = dict(values)
        for mapping, target in (
            ("seen", self._last_seen),
            ("py_ts", self._last_py_ts),
            ("event_ts", self._event_ts),
        ):
            for (name, metric), ts in state.get(mapping, {}).items():
                if name in codes:
                    target[(codes[name], metric)] = ts
        for name, online in state.get("online", {}).items():
            if name in codes:
                self._online[codes[name]] = online
        for (name, metric, k), window in state.get("windows", {}).items():
            if name in codes:
                self._windows[(codes[name], metric, k)] = collections.deque(window)
        for (name, rule_id, li), until in state.get("events", {}).items():
            if name in codes:
                self._event_until[(codes[name], rule_id, li)] = until
        for tenant, rule_id, device in state.get("pending", []):
            ri = index.get((tenant, rule_id))
            if ri is not None and device in self.rules[ri].rule.devices:
                self._pending.add((ri, device))
        return gone


def _returned(
    tenant: str,
    rule_id: str,
    version: int,
    device: str,
    values: dict[str, Scalar],
    historical: bool,
) -> ConditionChange:
    return ConditionChange(
        tenant=tenant,
        rule_id=rule_id,
        rule_version=version,
        device=device,
        active=False,
        ts_ms=int(datetime.now(UTC).timestamp() * 1000),
        severity=Severity.LOW,
        message="rule removed or no longer covers the device",
        values=values,
        historical=historical,
    )


def _show(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
