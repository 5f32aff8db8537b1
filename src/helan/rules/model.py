"""The rule language: what a tenant saves, exports and imports (YAML or JSON).

A rule targets one device, every device of a device type, or every device under an asset; its
``condition`` is a tree of conditions (``all``/``any``/``not`` over leaves); it becomes active
when the condition has held for ``for_s`` seconds and returns to normal when it has been false
for ``clear_for_s``. While ``suppress`` holds (e.g. the machine reports maintenance), an active
condition is passed on as suppressed by design (ISA-18.2), so it raises no notification.

The shapes are pydantic models with ``extra="forbid"``: a typo in a field name is an error at
its position, not a rule that silently never fires.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SerializerFunctionWrapHandler,
    Tag,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from helan.core.zones import TimeZoneName
from helan.rules.contracts import NoticeKind, Severity

MAX_DEPTH = 8  # nesting of all/any/not
MAX_LEAVES = 32
MAX_WINDOW_S = 24 * 3600
METRIC = r"^[A-Za-z_][A-Za-z0-9_.\-]{0,99}$"
ID = r"^[a-z0-9][a-z0-9_.\-]{0,63}$"

Op = Literal[">", ">=", "<", "<=", "==", "!="]
Scalar = float | bool | str


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_serializer(mode="wrap")
    def _with_kind(self, handler: SerializerFunctionWrapHandler) -> Any:
        """A condition keeps its ``kind`` when defaults are left out (exports, the stored
        spec): a leaf without it would not parse again."""
        data = handler(self)
        kind = getattr(self, "kind", None)
        if isinstance(data, dict) and isinstance(kind, str) and "kind" not in data:
            return {"kind": kind, **data}
        return data


class Threshold(_Shape):
    """``metric op value``: ``pump_pressure > 8``; booleans and strings compare with == / !=."""

    kind: Literal["threshold"] = "threshold"
    metric: str = Field(pattern=METRIC)
    op: Op
    value: Scalar

    @model_validator(mode="after")
    def _ops_for_text(self) -> Threshold:
        if isinstance(self.value, bool | str) and self.op not in ("==", "!="):
            raise ValueError(
                f"{self.op} compares numbers; a {type(self.value).__name__} takes == or !="
            )
        return self


class Range(_Shape):
    """Outside ``[min, max]`` (``inside: true``: within it)."""

    kind: Literal["range"] = "range"
    metric: str = Field(pattern=METRIC)
    min: float
    max: float
    inside: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class Expression(_Shape):
    """A CEL expression over several metrics of one device (:mod:`helan.rules.expr`)."""

    kind: Literal["expr"] = "expr"
    expr: str = Field(min_length=1, max_length=2000)


class Aggregate(_Shape):
    """``fn(metric)`` over the last ``window_s`` seconds ``op value``."""

    kind: Literal["aggregate"] = "aggregate"
    metric: str = Field(pattern=METRIC)
    fn: Literal["avg", "min", "max", "count"]
    window_s: float = Field(gt=0, le=MAX_WINDOW_S)
    op: Op
    value: float


class RateOfChange(_Shape):
    """Change per second between the first and last point of the last ``window_s`` seconds."""

    kind: Literal["rate"] = "rate"
    metric: str = Field(pattern=METRIC)
    window_s: float = Field(gt=0, le=MAX_WINDOW_S)
    op: Op
    value: float


class NoData(_Shape):
    """Nothing from ``metric`` (or from the device at all, when no metric) for ``for_s``."""

    kind: Literal["no_data"] = "no_data"
    metric: str | None = Field(default=None, pattern=METRIC)
    for_s: float = Field(ge=10, le=7 * 24 * 3600)


class Online(_Shape):
    """The device's connection state (the platform's ``device_online``/``offline`` events)."""

    kind: Literal["online"] = "online"
    state: Literal["online", "offline"]


class EventMatch(_Shape):
    """A device event of ``type`` whose fields equal ``where``; it holds until an event of
    ``clear_type`` (matching ``clear_where``) or, without one, for ``hold_s`` seconds."""

    kind: Literal["event"] = "event"
    type: str = Field(pattern=METRIC)
    where: dict[str, Scalar] = Field(default_factory=dict, max_length=16)
    clear_type: str | None = Field(default=None, pattern=METRIC)
    clear_where: dict[str, Scalar] = Field(default_factory=dict, max_length=16)
    hold_s: float = Field(default=60, gt=0, le=7 * 24 * 3600)


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Schedule(_Shape):
    """Holds during shift hours: on ``days`` from ``start`` to ``end`` (across midnight when
    ``end`` <= ``start``) in ``timezone``, except the calendar's ``exclude`` dates."""

    kind: Literal["schedule"] = "schedule"
    days: tuple[Weekday, ...] = WEEKDAYS
    start: time = time(0, 0)
    end: time = time(0, 0)
    timezone: TimeZoneName = "Asia/Shanghai"
    exclude: tuple[str, ...] = Field(default=(), max_length=400)

    @field_validator("exclude")
    @classmethod
    def _dates(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for day in value:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
                raise ValueError(f"{day!r} is not a date (YYYY-MM-DD)")
        return value


class AllOf(_Shape):
    kind: Literal["all"] = "all"
    all: tuple[Condition, ...] = Field(min_length=1, max_length=16)


class AnyOf(_Shape):
    kind: Literal["any"] = "any"
    any: tuple[Condition, ...] = Field(min_length=1, max_length=16)


class Not(_Shape):
    kind: Literal["not"] = "not"
    not_: Condition = Field(alias="not")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


Leaf = (
    Threshold
    | Range
    | Expression
    | Aggregate
    | RateOfChange
    | NoData
    | Online
    | EventMatch
    | Schedule
)


def _kind(value: object) -> str | None:
    """A leaf names its ``kind``; a combination may be written by its key alone
    (``{"all": [...]}``)."""
    if isinstance(value, dict):
        if "kind" in value:
            return str(value["kind"])
        for key in ("all", "any", "not"):
            if key in value:
                return key
        return None
    return getattr(value, "kind", None)


Condition = Annotated[
    Annotated[Threshold, Tag("threshold")]
    | Annotated[Range, Tag("range")]
    | Annotated[Expression, Tag("expr")]
    | Annotated[Aggregate, Tag("aggregate")]
    | Annotated[RateOfChange, Tag("rate")]
    | Annotated[NoData, Tag("no_data")]
    | Annotated[Online, Tag("online")]
    | Annotated[EventMatch, Tag("event")]
    | Annotated[Schedule, Tag("schedule")]
    | Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[Not, Tag("not")],
    Discriminator(
        _kind,
        custom_error_type="condition_kind",
        custom_error_message="a condition needs a kind: threshold, range, expr, aggregate, rate, "
        "no_data, online, event, schedule, or all/any/not",
    ),
]


class Target(_Shape):
    """Exactly one of a device, a device type, an asset (its whole subtree)."""

    device: str | None = None
    device_type: str | None = None
    asset: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Target:
        given = [k for k in ("device", "device_type", "asset") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("name exactly one of device, device_type, asset")
        return self


class Notify(_Shape):
    """Notification channel ids per alarm transition."""

    raised: tuple[str, ...] = ()
    cleared: tuple[str, ...] = ()
    escalated: tuple[str, ...] = ()
    acknowledged: tuple[str, ...] = ()

    def by_kind(self) -> dict[NoticeKind, tuple[str, ...]]:
        return {
            NoticeKind.RAISED: self.raised,
            NoticeKind.CLEARED: self.cleared,
            NoticeKind.ESCALATED: self.escalated,
            NoticeKind.ACKNOWLEDGED: self.acknowledged,
        }


class RuleSpec(_Shape):
    """One rule as saved (its id and version are the store's)."""

    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    enabled: bool = True
    target: Target
    condition: Condition
    for_s: float = Field(default=0, ge=0, le=MAX_WINDOW_S)
    clear_for_s: float = Field(default=0, ge=0, le=MAX_WINDOW_S)
    suppress: Condition | None = None
    severity: Severity = Severity.MEDIUM
    message: str | None = Field(default=None, max_length=500)
    notify: Notify = Notify()
    escalate_after_s: float | None = Field(default=None, gt=0, le=7 * 24 * 3600)
    notify_historical: bool = False

    @field_validator("condition", "suppress")
    @classmethod
    def _bounded(cls, tree: Condition | None, info: ValidationInfo) -> Condition | None:
        if tree is not None:
            depth, leaves = _measure(tree)
            if depth > MAX_DEPTH:
                raise ValueError(
                    f"{info.field_name} nests {depth} levels deep; at most {MAX_DEPTH}"
                )
            if leaves > MAX_LEAVES:
                raise ValueError(f"{info.field_name} has {leaves} conditions; at most {MAX_LEAVES}")
        return tree


def children(node: Condition) -> tuple[Condition, ...]:
    if isinstance(node, AllOf):
        return node.all
    if isinstance(node, AnyOf):
        return node.any
    if isinstance(node, Not):
        return (node.not_,)
    return ()


def leaves(
    node: Condition, path: tuple[str | int, ...] = ()
) -> list[tuple[tuple[str | int, ...], Leaf]]:
    """Every leaf with its position in the tree (for error messages)."""
    if isinstance(node, AllOf):
        return [x for i, c in enumerate(node.all) for x in leaves(c, (*path, "all", i))]
    if isinstance(node, AnyOf):
        return [x for i, c in enumerate(node.any) for x in leaves(c, (*path, "any", i))]
    if isinstance(node, Not):
        return leaves(node.not_, (*path, "not"))
    return [(path, node)]


def _measure(node: Condition) -> tuple[int, int]:
    kids = children(node)
    if not kids:
        return 1, 1
    measured = [_measure(c) for c in kids]
    return 1 + max(d for d, _ in measured), sum(n for _, n in measured)


AllOf.model_rebuild()
AnyOf.model_rebuild()
Not.model_rebuild()
RuleSpec.model_rebuild()
