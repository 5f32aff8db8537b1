"""CEL expressions of rules: what is evaluated and how, what is refused (with its message and
column), and the undefined results (missing metric, wrong type, division by zero, 64-bit
overflow) that make a condition not true instead of raising."""

from __future__ import annotations

import time

import pytest

from helan.rules.expr import MAX_NODES, ExprError, compile_expr

ENV = {"temp": 80.5, "pressure": 6.0, "state": "run", "running": True, "count": 3}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("temp > 80 && pressure < 7", True),
        ("temp > 90 || pressure >= 6.0", True),
        ("!(temp > 80)", False),
        ("state == 'run'", True),
        ("state in ['idle', 'stop']", False),
        ("state in ['idle', 'run']", True),
        ("running ? temp > 80 : false", True),
        ("abs(pressure - temp) > 70", True),
        ("max(temp, pressure, 100.0) == 100.0", True),
        ("min(temp, pressure) == 6.0", True),
        ("double('1.5') + temp == 82.0", True),
        ("int(temp) == 80", True),
        ("7 / -2 == -3", True),  # CEL truncates toward zero
        ("-7 % 3 == -1", True),  # and the remainder takes the dividend's sign
        ("9007199254740993 % 2 == 1", True),  # 2**53 + 1: exact, not through floats
        ("0x10 == 16 && 1u + 1 == 2", True),
        ("-9223372036854775808 < 0", True),
        ("'\\u00e9t\\u00e9' == 'été'", True),
        ("r'\\d' == '\\\\d'", True),
        ("count * 2.0 == 6.0", True),
    ],
)
def test_evaluates(source: str, expected: bool) -> None:
    assert compile_expr(source)(ENV) is expected


def test_names_are_the_metrics_read() -> None:
    compiled = compile_expr("running && temp > max(pressure, 1.0) && int('3') == 3")
    assert compiled.names == frozenset({"running", "temp", "pressure"})


@pytest.mark.parametrize(
    ("source", "message", "column"),
    [
        ("pump.temp > 1", "field selection and indexing are not allowed", 1),
        ("temps[0] > 1", "field selection and indexing are not allowed", 1),
        ("temp.size() > 1", "field selection and indexing are not allowed", 1),
        ("[1, 2].exists(x, x > 1)", "field selection and indexing are not allowed", 1),
        ("9**9**9", "unexpected '*' (there is no ** operator)", 3),
        ("import os", "syntax error: unexpected 'os'", 8),
        ("__import__('os') == 1", "function __import__() is not allowed", 1),
        ("temp > 1 && size(state) > 2", "function size() is not allowed", 13),
        ("duration('1s') > temp", "function duration() is not allowed", 1),
        ("has(pump.temp)", "function has() is not allowed", 1),
        ("abs(temp, pressure) > 1", "abs() takes 1..1 arguments, got 2", 1),
        ("{'a': 1} == temp", "map lit is not allowed", 1),
        ("[1] == temp", "list lit is not allowed", 1),
        ("temp in pressure", "'in' takes a list literal", 1),
        ("null == temp", "null_lit literals are not allowed", 1),
        ("b'abc' == state", "bytes_lit literals are not allowed", 1),
        ("temp >", "the expression ends too early", 6),
        ("temp # 1", "syntax error: unexpected '#'", 6),
        ("99999999999999999999 > temp", "integer literal out of 64-bit range", 1),
        ("'" + "x" * 1001 + "' == state", "string literal longer than 1000 characters", 1),
        ("(" * 33 + "temp" + ")" * 33 + " > 1", "nested more than 32 levels deep", 33),
        ("temp" + " + temp" * 130 + " > 1", f"longer than {MAX_NODES} terms", 0),
        ("-" * 1500 + "temp > 1", f"longer than {MAX_NODES} terms", 256),
        ("temp > 1 || " * 130 + "true", f"longer than {MAX_NODES} terms", 0),
        ("(" * 32 + "-" * 150 + "temp" + ")" * 32 + " > 1", "nested more than 400 levels", 0),
        ("temp == 'x" + "x" * 3000 + "'", "longer than 2000 characters", 2001),
    ],
    ids=lambda v: v[:40] if isinstance(v, str) else str(v),
)
def test_refused_with_message_and_column(source: str, message: str, column: int) -> None:
    started = time.perf_counter()
    with pytest.raises(ExprError) as caught:
        compile_expr(source)
    assert message in str(caught.value)
    if column:
        assert caught.value.column == column
    else:
        assert caught.value.column > 0
    assert time.perf_counter() - started < 1  # refused at once, whatever the input


@pytest.mark.parametrize(
    "source",
    [
        "missing > 1",  # no value yet
        "state > 1",  # a string against a number
        "state == 1",
        "running == 1",  # a bool is not a number
        "temp / 0.0 > 1.0",
        "count / 0 > 1",
        "int(count) / 0 == 1",
        "int(count) % 0 == 1",
        "temp % 2 == 1",  # % takes integers only
        "9223372036854775807 + 1 > 0",  # int64 overflow
        "4611686018427387904 * 2 > 0",
        "-(-9223372036854775807 - 1) > 0",
        "(-9223372036854775807 - 1) / -1 > 0",
        "int(1e19) > 0",
        "int(double('inf')) > 0",
        "int('x') > 0",
        "double('x') > 0.0",
        "'x' * 1000000 == 'y'",
        "temp + 1.0",  # not a boolean
        "running ? temp : 1.0",
        "temp ? true : false",  # the test is not a boolean
        "!temp",
        "nan_metric > 1.0",  # NaN counts as no value
    ],
)
def test_undefined_is_not_true(source: str) -> None:
    assert compile_expr(source)({**ENV, "nan_metric": float("nan")}) is None


def test_logic_over_undefined_follows_cel() -> None:
    """CEL's && and || absorb an error when the other side decides the result."""
    assert compile_expr("missing > 1 || temp > 1")(ENV) is True
    assert compile_expr("temp > 1 || missing > 1")(ENV) is True
    assert compile_expr("missing > 1 && temp > 100")(ENV) is False
    assert compile_expr("missing > 1 || temp > 100")(ENV) is None
    assert compile_expr("missing > 1 && temp > 1")(ENV) is None
    assert compile_expr("missing in [1, 2]")(ENV) is None
    assert compile_expr("temp in [state, 80.5]")(ENV) is True  # the mismatched item is skipped


def test_string_concatenation_is_bounded() -> None:
    compiled = compile_expr("state + state == 'runrun'")
    assert compiled(ENV) is True
    assert compiled({"state": "x" * 3000}) is None


def test_terms_count_operators_and_operands_only() -> None:
    """The limit is on terms a user wrote (operators, calls, operands), not on the grammar's
    levels: 64 comparisons joined by && are 255 terms and fit, 65 do not."""
    source = "temp > 1.0" + " && temp > 1.0" * 63
    assert compile_expr(source)(ENV) is True
    with pytest.raises(ExprError, match="longer than 256 terms"):
        compile_expr(source + " && temp > 1.0")
    assert compile_expr("(" * 32 + "temp" + ")" * 32 + " > 1")(ENV) is True


def test_largest_accepted_expression_is_cheap() -> None:
    source = "temp > 1.0" + " && temp > 1.0" * 63
    compiled = compile_expr(source)
    started = time.perf_counter()
    for _ in range(1000):
        assert compiled(ENV) is True
    assert time.perf_counter() - started < 1
