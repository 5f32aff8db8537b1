"""What a dashboard may contain: the widget types the console draws, their settings, and a grid
layout that fits, checked strictly before anything is stored.

Why strict: a spec is also what an import brings in from a file someone edited by hand or
another platform made. An unknown widget type, a stray key, a widget off the grid or on top of
another would store fine and fail later in a browser, where nobody sees why; here each problem
is named with its position (``widgets[3].config.metric``), all of them in one answer.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter
from pydantic import ValidationError as PydanticError

from helan.core import ids
from helan.core.errors import PayloadTooLarge, ValidationFailed

MAX_SPEC_BYTES = 256 * 1024  # a 100-widget dashboard is ~40 KB
MAX_WIDGETS = 100
MAX_SERIES = 20
MAX_ROWS = 10_000  # grid rows a widget may reach (y + h)
WIDGET_TYPES = (
    "timeseries",
    "gauge",
    "value",
    "table",
    "state_timeline",
    "bar",
    "alarm_list",
    "text",
)
RANGES = ("15m", "1h", "6h", "12h", "24h", "7d", "30d", "90d", "1y")
DeviceId = Annotated[str, StringConstraints(pattern=ids.DEVICE_ID.pattern)]
MetricName = Annotated[str, StringConstraints(pattern=ids.METRIC_NAME.pattern)]
Label = Annotated[str, StringConstraints(max_length=200)]
Unit = Annotated[str, StringConstraints(max_length=32)]
Color = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


class Series(_Strict):
    device: DeviceId
    metric: MetricName
    label: Label | None = None
    color: Color | None = None


class Threshold(_Strict):
    value: float
    color: Color


class SeriesConfig(_Strict):
    """Charts and tables over time: the series and a range (the console picks the roll-up)."""

    series: Annotated[list[Series], Field(min_length=1, max_length=MAX_SERIES)]
    range: Literal[RANGES] = "1h"  # type: ignore[valid-type]  # a tuple of literals
    unit: Unit | None = None


class TimeseriesConfig(SeriesConfig):
    fn: Literal["avg", "min", "max", "last"] = "avg"
    stacked: bool = False


class BarConfig(SeriesConfig):
    fn: Literal["avg", "min", "max", "sum", "count", "last"] = "last"
    horizontal: bool = False


class TableConfig(SeriesConfig):
    mode: Literal["latest", "history"] = "latest"


class StateTimelineConfig(SeriesConfig):
    # Value → label (and colour) of a state: 0 stopped, 1 running, 2 fault ...
    states: Annotated[dict[str, Label], Field(max_length=32)] = Field(default_factory=dict)


class GaugeConfig(_Strict):
    device: DeviceId
    metric: MetricName
    min: float = 0.0
    max: float = 100.0
    unit: Unit | None = None
    thresholds: Annotated[list[Threshold], Field(max_length=10)] = Field(default_factory=list)


class ValueConfig(_Strict):
    device: DeviceId
    metric: MetricName
    unit: Unit | None = None
    decimals: Annotated[int, Field(ge=0, le=6)] = 1
    thresholds: Annotated[list[Threshold], Field(max_length=10)] = Field(default_factory=list)


class AlarmListConfig(_Strict):
    severities: list[Literal["critical", "major", "minor", "warning", "info"]] = Field(
        default_factory=list
    )
    devices: Annotated[list[DeviceId], Field(max_length=200)] = Field(default_factory=list)
    limit: Annotated[int, Field(ge=1, le=200)] = 20


class TextConfig(_Strict):
    """Plain text (rendered as text, never as HTML)."""

    text: Annotated[str, StringConstraints(max_length=10_000)]
    size: Literal["s", "m", "l", "xl"] = "m"


CONFIGS: dict[str, type[_Strict]] = {
    "timeseries": TimeseriesConfig,
    "gauge": GaugeConfig,
    "value": ValueConfig,
    "table": TableConfig,
    "state_timeline": StateTimelineConfig,
    "bar": BarConfig,
    "alarm_list": AlarmListConfig,
    "text": TextConfig,
}
assert set(CONFIGS) == set(WIDGET_TYPES)


class _Widget(_Strict):
    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    type: str
    title: Label = ""
    x: Annotated[int, Field(ge=0)]
    y: Annotated[int, Field(ge=0)]
    w: Annotated[int, Field(ge=1)]
    h: Annotated[int, Field(ge=1, le=48)]
    config: dict[str, Any]


class _Spec(_Strict):
    columns: Literal[12, 24] = 12
    refresh_s: Annotated[int, Field(ge=0, le=3600)] = 0  # 0: live only
    widgets: Annotated[list[dict[str, Any]], Field(max_length=MAX_WIDGETS)]


_SPEC = TypeAdapter(_Spec)


def _issues(exc: PydanticError, prefix: tuple[str | int, ...]) -> list[dict[str, Any]]:
    return [
        {"loc": [*prefix, *e["loc"]], "message": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_input=False)
    ]


def _position(loc: list[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def check_size(spec: object) -> int:
    """Bytes of ``spec`` as JSON; 413 past :data:`MAX_SPEC_BYTES`."""
    try:
        size = len(orjson.dumps(spec))
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise ValidationFailed(f"dashboard spec is not JSON: {exc}") from exc
    if size > MAX_SPEC_BYTES:
        raise PayloadTooLarge(
            f"dashboard spec is {size} bytes, more than the {MAX_SPEC_BYTES} allowed",
            code="spec_too_large",
        )
    return size


def validate_spec(raw: object) -> dict[str, Any]:
    """The spec as it will be stored (defaults filled in), or ValidationFailed listing every
    problem with its position (``loc``, as FastAPI's own 422 does)."""
    check_size(raw)
    try:
        spec = _SPEC.validate_python(raw)
    except PydanticError as exc:
        raise _failed(_issues(exc, ("spec",))) from None
    issues: list[dict[str, Any]] = []
    widgets: list[tuple[int, dict[str, Any]]] = []
    for i, raw_widget in enumerate(spec.widgets):
        at: tuple[str | int, ...] = ("spec", "widgets", i)
        try:
            widget = _Widget.model_validate(raw_widget)
        except PydanticError as exc:
            issues += _issues(exc, at)
            continue
        kind = CONFIGS.get(widget.type)
        if kind is None:
            issues.append(
                {
                    "loc": [*at, "type"],
                    "message": f"unknown widget type {widget.type!r}; known: "
                    + ", ".join(WIDGET_TYPES),
                    "type": "unknown_widget_type",
                }
            )
            continue
        try:
            config = kind.model_validate(widget.config).model_dump(mode="json")
        except PydanticError as exc:
            issues += _issues(exc, (*at, "config"))
            continue
        widgets.append((i, widget.model_dump(mode="json") | {"config": config}))
        issues += _layout_issues(widget, i, spec.columns)
    issues += _overlaps(widgets)
    if issues:
        raise _failed(issues)
    return {
        "columns": spec.columns,
        "refresh_s": spec.refresh_s,
        "widgets": [w for _, w in widgets],
    }


def _layout_issues(widget: _Widget, i: int, columns: int) -> list[dict[str, Any]]:
    at = ["spec", "widgets", i]
    issues = []
    if widget.x + widget.w > columns:
        issues.append(
            {
                "loc": [*at, "w"],
                "message": f"widget {widget.id!r} reaches column {widget.x + widget.w}, "
                f"past the grid's {columns}",
                "type": "off_grid",
            }
        )
    if widget.y + widget.h > MAX_ROWS:
        issues.append(
            {"loc": [*at, "y"], "message": f"rows stop at {MAX_ROWS}", "type": "off_grid"}
        )
    return issues


def _overlaps(widgets: list[tuple[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Duplicate ids and widgets on top of each other (``i``: the position in the input)."""
    issues: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    placed: list[tuple[int, dict[str, Any]]] = []
    for i, w in widgets:
        if w["id"] in seen:
            issues.append(
                {
                    "loc": ["spec", "widgets", i, "id"],
                    "message": f"widget id {w['id']!r} is also widgets[{seen[w['id']]}]'s",
                    "type": "duplicate_id",
                }
            )
            continue
        seen[w["id"]] = i
        for j, other in placed:
            if (
                w["x"] < other["x"] + other["w"]
                and other["x"] < w["x"] + w["w"]
                and w["y"] < other["y"] + other["h"]
                and other["y"] < w["y"] + w["h"]
            ):
                issues.append(
                    {
                        "loc": ["spec", "widgets", i],
                        "message": f"widget {w['id']!r} overlaps widgets[{j}] ({other['id']!r})",
                        "type": "overlap",
                    }
                )
                break
        placed.append((i, w))
    return issues


def _failed(issues: list[dict[str, Any]]) -> ValidationFailed:
    first = issues[0]
    more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
    return ValidationFailed(
        f"invalid dashboard at {_position(first['loc'])}: {first['message']}{more}",
        code="invalid_dashboard",
        details=issues[:100],
    )
