"""A rule checked against the tenant's thing models before it is saved.

Each problem is reported at its position in the rule (``["condition", "all", 1, "metric"]``),
all of them in one 422, so an editor can mark every field at once. A target in another tenant
is reported exactly like a target that does not exist: the answer must not tell them apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.orm import Session

from helan.core.errors import ValidationFailed
from helan.core.thing import EventSpec, MetricSpec, event_specs
from helan.rules.expr import ExprError, compile_expr
from helan.rules.model import (
    MAX_DEPTH,
    Aggregate,
    EventMatch,
    Expression,
    Range,
    RateOfChange,
    RuleSpec,
    Threshold,
    leaves,
)
from helan.services.assets import subtree
from helan.storage.meta.directory import metric_specs
from helan.storage.meta.models import Asset, Device, DeviceType

_SAMPLE: dict[str, Any] = {"float": 1.5, "int": 2, "bool": True, "string": "x"}


def parse_spec(data: Mapping[str, Any], loc: tuple[str | int, ...] = ()) -> RuleSpec:
    """pydantic's errors in the API's shape, positioned under ``loc`` at their place in the
    document (``["condition", "all", 1, "op"]``), as :func:`check_rule` reports them."""
    try:
        return RuleSpec.model_validate(data)
    except ValidationError as exc:
        merged: dict[tuple[str | int, ...], dict[str, Any]] = {}
        errors = exc.errors(include_url=False)
        for e in errors:
            if e["type"] == "too_short" and any(
                len(x["loc"]) > len(e["loc"]) and x["loc"][: len(e["loc"])] == e["loc"]
                for x in errors
            ):  # pydantic counts only the valid items: "at least 1, not 0" for two bad ones
                continue
            where = (*loc, *document_loc(e["loc"]))
            message = e["msg"].removeprefix("Value error, ")
            if e["type"] == "recursion_loop":  # nested past pydantic's own limit
                where = (*loc, *where[len(loc) : len(loc) + 1])
                message = f"nested too deeply: at most {MAX_DEPTH} levels of all/any/not"
            if where in merged:  # one per member of a union (a value: number, bool or string)
                merged[where]["message"] += f"; {message}"
            else:
                merged[where] = {"loc": list(where), "message": message, "type": e["type"]}
        details = list(merged.values())
        raise ValidationFailed(
            f"the rule is not valid: {details[0]['message']} at "
            f"{'.'.join(str(x) for x in details[0]['loc'])}",
            details=details,
        ) from None


_TAGS = frozenset(
    (
        *("threshold", "range", "expr", "aggregate", "rate", "no_data", "online", "event"),
        *("schedule", "all", "any", "not"),
    )
)
_SCALARS = frozenset(("float", "bool", "str"))


def _scalar_position(loc: list[str | int]) -> bool:
    """A threshold's value or an event filter's field: a float | bool | str union."""
    return bool(loc) and (loc[-1] == "value" or loc[-2:-1] in (["where"], ["clear_where"]))


def document_loc(loc: tuple[str | int, ...]) -> list[str | int]:
    """pydantic's position without the names it adds: the kind tag after each condition
    (``condition.all.all.1.range.min`` is ``condition.all.1.min``) and the member of a scalar
    union (``value.float``)."""
    out: list[str | int] = []
    at_condition = False  # the next part is the kind tag pydantic inserts
    tag: str | int | None = None  # the tag just dropped
    for part in loc:
        if at_condition and part in _TAGS:
            at_condition, tag = False, part
            continue
        if part in _SCALARS and _scalar_position(out):
            continue
        out.append(part)
        at_condition = (
            (len(out) == 1 and part in ("condition", "suppress"))
            or (part == "not" and tag == "not")
            or (isinstance(part, int) and len(out) > 1 and out[-2] in ("all", "any"))
        )
        tag = None
    return out


def target_devices(s: Session, tenant: str, spec: RuleSpec) -> list[tuple[str, str | None]]:
    """(device, device type) of every device the target covers now."""
    t = spec.target
    stmt = sa.select(Device.id, Device.device_type_id).where(Device.tenant_id == tenant)
    if t.device is not None:
        stmt = stmt.where(Device.id == t.device)
    elif t.device_type is not None:
        stmt = stmt.where(Device.device_type_id == t.device_type)
    else:
        assert t.asset is not None
        stmt = stmt.where(Device.asset_id.in_(subtree(s, tenant, t.asset)))
    return [(d, ty) for d, ty in s.execute(stmt)]


def check_rule(s: Session, tenant: str, spec: RuleSpec, loc: tuple[str | int, ...] = ()) -> None:
    """Raise one ValidationFailed listing every problem of ``spec`` in ``tenant``."""
    problems: list[dict[str, Any]] = []

    def bad(where: Iterable[str | int], message: str, kind: str) -> None:
        problems.append({"loc": [*loc, *where], "message": message, "type": kind})

    types = _target_types(s, tenant, spec, bad)
    if types is not None:
        metrics, events = _models(s, tenant, types)
        for name, tree in (("condition", spec.condition), ("suppress", spec.suppress)):
            if tree is None:
                continue
            for path, leaf in leaves(tree):
                _check_leaf((name, *path), leaf, metrics, events, bad)
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ValidationFailed(
            f"{first['message']} at {'.'.join(str(x) for x in first['loc'])}{more}",
            code="rule_invalid",
            details=problems,
        )


def _target_types(s: Session, tenant: str, spec: RuleSpec, bad: Any) -> list[str] | None:
    t = spec.target
    if t.device is not None:
        row = s.get(Device, (tenant, t.device))
        if row is None:
            bad(("target", "device"), f"no device {t.device!r} in this tenant", "unknown_device")
            return None
        if row.device_type_id is None:
            bad(
                ("target", "device"),
                f"device {t.device!r} has no device type (no thing model)",
                "no_thing_model",
            )
            return None
        return [row.device_type_id]
    if t.device_type is not None:
        if s.get(DeviceType, (tenant, t.device_type)) is None:
            bad(
                ("target", "device_type"),
                f"no device type {t.device_type!r} in this tenant",
                "unknown_device_type",
            )
            return None
        return [t.device_type]
    assert t.asset is not None
    if s.get(Asset, (tenant, t.asset)) is None:
        bad(("target", "asset"), f"no asset {t.asset!r} in this tenant", "unknown_asset")
        return None
    types = sorted({ty for _, ty in target_devices(s, tenant, spec) if ty is not None})
    if not types:
        bad(
            ("target", "asset"),
            f"no device with a thing model under asset {t.asset!r}",
            "empty_target",
        )
        return None
    return types


def _models(
    s: Session, tenant: str, types: list[str]
) -> tuple[dict[str, MetricSpec], dict[str, EventSpec]]:
    """Metrics and events of the types (for an asset: those of any type under it)."""
    metrics: dict[str, MetricSpec] = {}
    events: dict[str, EventSpec] = {}
    rows = s.execute(
        sa.select(DeviceType.properties, DeviceType.events).where(
            DeviceType.tenant_id == tenant, DeviceType.id.in_(types)
        )
    )
    for properties, evs in rows:
        metrics.update(metric_specs(properties))
        events.update(event_specs(evs))
    return metrics, events


def _check_leaf(
    path: tuple[str | int, ...],
    leaf: Any,
    metrics: dict[str, MetricSpec],
    events: dict[str, EventSpec],
    bad: Any,
) -> None:
    if isinstance(leaf, Expression):
        try:
            compiled = compile_expr(leaf.expr)
        except ExprError as exc:
            where = f" (column {exc.column})" if exc.column else ""
            bad((*path, "expr"), f"{exc}{where}", "expr_invalid")
            return
        unknown = sorted(compiled.names - metrics.keys())
        if unknown:
            bad(
                (*path, "expr"),
                f"unknown metric(s) {', '.join(unknown)} in the expression",
                "unknown_metric",
            )
            return
        sample = {m: _SAMPLE[metrics[m].type] for m in compiled.names}
        if compiled(sample) is None:
            bad(
                (*path, "expr"),
                "the expression is not a boolean for the metrics' types",
                "expr_type",
            )
        return
    if isinstance(leaf, EventMatch):
        for field, name in (("type", leaf.type), ("clear_type", leaf.clear_type)):
            if name is not None and name not in events:
                bad((*path, field), f"unknown event {name!r} in the thing model", "unknown_event")
        return
    metric = getattr(leaf, "metric", None)
    if metric is None:
        return
    spec = metrics.get(metric)
    if spec is None:
        bad((*path, "metric"), f"unknown metric {metric!r} in the thing model", "unknown_metric")
        return
    numeric = spec.type in ("float", "int")
    if isinstance(leaf, Threshold):
        value = leaf.value
        if isinstance(value, bool):
            ok = spec.type == "bool"
        elif isinstance(value, str):
            ok = spec.type == "string"
        else:
            ok = numeric
        if not ok:
            bad(
                (*path, "value"),
                f"{metric} is {spec.type}; {value!r} does not compare with it",
                "wrong_type",
            )
    elif (
        isinstance(leaf, Range | Aggregate | RateOfChange)
        and not numeric
        and not (isinstance(leaf, Aggregate) and leaf.fn == "count")
    ):
        bad((*path, "metric"), f"{metric} is {spec.type}, not a number", "wrong_type")
