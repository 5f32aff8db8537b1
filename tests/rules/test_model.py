"""The rule language: every condition kind parses from a document, combinations may be written
by their key alone, and what is wrong is refused at its position in the document (the kind
tags pydantic adds are not part of it), with bounds on size and nesting."""

from __future__ import annotations

import json
from datetime import time
from typing import Any

import pytest
import yaml

from helan.core.errors import ValidationFailed
from helan.rules.checks import parse_spec
from helan.rules.model import (
    AllOf,
    AnyOf,
    EventMatch,
    Not,
    RuleSpec,
    Schedule,
    Threshold,
    leaves,
)

HOT = {"kind": "threshold", "metric": "temp", "op": ">", "value": 80}
OFF = {"kind": "online", "state": "offline"}


def rule(condition: Any, **extra: Any) -> dict[str, Any]:
    return {"name": "r", "target": {"device": "pump-1"}, "condition": condition, **extra}


def refused(data: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(ValidationFailed) as caught:
        parse_spec(data)
    assert caught.value.status == 422
    details = caught.value.details
    assert details
    return list(details)


@pytest.mark.parametrize(
    "condition",
    [
        HOT,
        {"kind": "threshold", "metric": "state", "op": "==", "value": "run"},
        {"kind": "threshold", "metric": "running", "op": "!=", "value": True},
        {"kind": "range", "metric": "temp", "min": 10, "max": 20, "inside": True},
        {"kind": "expr", "expr": "temp > 80 && pressure < 3"},
        {"kind": "aggregate", "metric": "temp", "fn": "avg", "window_s": 60, "op": ">", "value": 1},
        {"kind": "rate", "metric": "temp", "window_s": 30, "op": ">", "value": 0.5},
        {"kind": "no_data", "for_s": 60},
        {"kind": "no_data", "metric": "temp", "for_s": 60},
        OFF,
        {"kind": "event", "type": "jam", "where": {"axis": "x", "n": 2}, "clear_type": "reset"},
        {"kind": "schedule", "days": ["mon", "fri"], "start": "22:00", "end": "06:00"},
        {"all": [HOT, OFF]},
        {"any": [HOT, {"not": OFF}]},
        {"kind": "all", "all": [HOT]},
    ],
)
def test_every_kind_round_trips_through_yaml_and_json(condition: dict[str, Any]) -> None:
    spec = parse_spec(rule(condition, for_s=5, notify={"raised": ["ch-1"]}))
    dumped = spec.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    assert parse_spec(yaml.safe_load(yaml.safe_dump(dumped))) == spec
    assert parse_spec(json.loads(json.dumps(dumped))) == spec


def test_shapes_and_defaults() -> None:
    spec = parse_spec(rule({"any": [HOT, {"not": OFF}]}))
    assert isinstance(spec.condition, AnyOf)
    first, second = spec.condition.any
    assert isinstance(first, Threshold)
    assert first.value == 80.0
    assert isinstance(second, Not)
    assert second.not_.kind == "online"
    assert (spec.enabled, spec.for_s, spec.clear_for_s, spec.severity.value) == (
        True,
        0,
        0,
        "medium",
    )
    assert spec.notify_historical is False
    shift = parse_spec(rule({"kind": "schedule", "start": "22:00", "end": "06:00"})).condition
    assert isinstance(shift, Schedule)
    assert (shift.start, len(shift.days)) == (time(22), 7)
    event = parse_spec(rule({"kind": "event", "type": "jam"})).condition
    assert isinstance(event, EventMatch)
    assert (event.hold_s, event.where) == (60, {})


def test_leaves_name_their_position() -> None:
    spec = parse_spec(rule({"all": [HOT, {"any": [OFF, {"not": HOT}]}]}))
    assert isinstance(spec.condition, AllOf)
    assert [path for path, _ in leaves(spec.condition)] == [
        ("all", 0),
        ("all", 1, "any", 0),
        ("all", 1, "any", 1, "not"),
    ]


@pytest.mark.parametrize(
    ("data", "loc", "message"),
    [
        (
            rule({"all": [HOT, {**HOT, "op": ">>"}]}),
            ["condition", "all", 1, "op"],
            "Input should be '>'",
        ),
        (
            rule({"any": [OFF, {"kind": "range", "metric": "t", "min": 5, "max": 1}]}),
            ["condition", "any", 1],
            "min 5.0 is above max 1.0",
        ),
        (rule({**HOT, "value": "8"}), ["condition"], "> compares numbers; a str takes == or !="),
        (rule({**HOT, "value": True}), ["condition"], "a bool takes == or !="),
        (rule({**HOT, "value": [1]}), ["condition", "value"], "valid number; "),
        (rule({**HOT, "vlaue": 2}), ["condition", "vlaue"], "Extra inputs are not permitted"),
        (rule({"metric": "temp", "op": ">", "value": 1}), ["condition"], "needs a kind"),
        (rule({"kind": "bogus"}), ["condition"], "needs a kind"),
        (rule(5), ["condition"], "needs a kind"),
        (
            rule({"not": {"not": {**HOT, "metric": "1bad"}}}),
            ["condition", "not", "not", "metric"],
            "pattern",
        ),
        (
            rule(OFF, suppress={"any": [{**OFF, "state": "x"}]}),
            ["suppress", "any", 0, "state"],
            "'online' or 'offline'",
        ),
        (rule({"all": [HOT] * 17}), ["condition", "all"], "at most 16 items"),
        (
            rule({"kind": "event", "type": "jam", "where": {"all": [1]}}),
            ["condition", "where", "all"],
            "valid string",
        ),
        (
            rule(
                {
                    "kind": "aggregate",
                    "metric": "t",
                    "fn": "median",
                    "window_s": 1,
                    "op": ">",
                    "value": 1,
                }
            ),
            ["condition", "fn"],
            "'avg'",
        ),
        (
            rule(
                {
                    "kind": "aggregate",
                    "metric": "t",
                    "fn": "avg",
                    "window_s": 90000,
                    "op": ">",
                    "value": 1,
                }
            ),
            ["condition", "window_s"],
            "less than or equal to 86400",
        ),
        (
            rule({"kind": "rate", "metric": "t", "window_s": 0, "op": ">", "value": 1}),
            ["condition", "window_s"],
            "greater than 0",
        ),
        (
            rule({"kind": "no_data", "for_s": 5}),
            ["condition", "for_s"],
            "greater than or equal to 10",
        ),
        (
            rule({"kind": "schedule", "timezone": "Mars/Base"}),
            ["condition", "timezone"],
            "unknown time zone 'Mars/Base'",
        ),
        (
            rule({"kind": "schedule", "exclude": ["2024-13"]}),
            ["condition", "exclude"],
            "'2024-13' is not a date",
        ),
        (rule({"kind": "schedule", "days": ["someday"]}), ["condition", "days", 0], "'mon'"),
        (
            rule({"kind": "expr", "expr": "x" * 2001}),
            ["condition", "expr"],
            "at most 2000 characters",
        ),
        (
            {**rule(OFF), "target": {"device": "a", "asset": "b"}},
            ["target"],
            "exactly one of device",
        ),
        ({**rule(OFF), "target": {}}, ["target"], "exactly one of device"),
        ({**rule(OFF), "for_s": -1}, ["for_s"], "greater than or equal to 0"),
        ({**rule(OFF), "severity": "urgent"}, ["severity"], "'critical'"),
        ({**rule(OFF), "name": ""}, ["name"], "at least 1 character"),
        ({**rule(OFF), "notify": {"raised": "ch-1"}}, ["notify", "raised"], "valid tuple"),
        ({**rule(OFF), "escalate_after_s": 0}, ["escalate_after_s"], "greater than 0"),
    ],
    ids=lambda v: json.dumps(v)[:50] if isinstance(v, list | dict) else str(v)[:30],
)
def test_refused_at_its_position(data: dict[str, Any], loc: list[Any], message: str) -> None:
    details = refused(data)
    assert details[0]["loc"] == loc, details
    assert message in details[0]["message"], details


def test_every_problem_is_listed_once_and_the_message_names_the_first() -> None:
    data = {"name": "", "target": {}, "condition": {"all": [{**HOT, "op": "~"}, {**OFF, "x": 1}]}}
    with pytest.raises(ValidationFailed) as caught:
        parse_spec(data)
    locs = [d["loc"] for d in caught.value.details or []]
    assert locs == [
        ["name"],
        ["target"],
        ["condition", "all", 0, "op"],
        ["condition", "all", 1, "x"],
    ]
    assert caught.value.message.startswith("the rule is not valid: String should have at least")
    assert caught.value.message.endswith(" at name")


def test_a_position_under_a_prefix() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_spec(rule({"all": [{**HOT, "op": "~"}]}), ("rules", 7))
    assert (caught.value.details or [])[0]["loc"] == ["rules", 7, "condition", "all", 0, "op"]


def _nested(levels: int) -> dict[str, Any]:
    node: dict[str, Any] = OFF
    for _ in range(levels):
        node = {"not": node}
    return node


def test_nesting_and_size_are_bounded() -> None:
    assert parse_spec(rule(_nested(7))).condition.kind == "not"  # 8 levels: the limit
    (too_deep,) = refused(rule(_nested(8)))
    assert too_deep == {
        "loc": ["condition"],
        "message": "condition nests 9 levels deep; at most 8",
        "type": "value_error",
    }
    (much_too_deep,) = refused(rule(_nested(5000)))  # past pydantic's own recursion limit
    assert much_too_deep["loc"] == ["condition"]
    assert much_too_deep["message"] == "nested too deeply: at most 8 levels of all/any/not"
    many = {"all": [{"any": [OFF] * 16}, {"any": [OFF] * 16}, OFF]}
    (too_many,) = refused(rule(OFF, suppress=many))
    assert too_many["loc"] == ["suppress"]
    assert too_many["message"] == "suppress has 33 conditions; at most 32"
    assert parse_spec(rule({"all": [{"any": [OFF] * 16}, {"any": [OFF] * 16}]}))


def test_specs_are_frozen_values() -> None:
    spec = RuleSpec.model_validate(rule(HOT))
    with pytest.raises(ValueError, match="frozen"):
        spec.name = "other"  # type: ignore[misc]
    assert spec == RuleSpec.model_validate(rule(HOT))
