"""Expressions over several metrics of one device, in CEL (the Common Expression Language).

cel-python parses (its grammar is CEL's); evaluation is not cel-python's interpreter (about
150 us an evaluation here, too slow for the ingest's rate) but a tree of small closures built
from the parse tree, about 100 times faster. Only what a condition needs is accepted:
literals, metric names, ``+ - * / %``, comparisons, ``in`` a list, ``! && ||``, ``?:``, and
the functions ``abs min max double int``. Field selection, indexing, maps, macros, every other
function and anything larger than the limits below are refused when the rule is saved, with
the position. There is no loop and no exponent in the language, each node runs once, so an
expression's cost is bounded by its size; integers stay within CEL's 64 bits.

A metric without a value yet, a type mismatch or a division by zero make the expression
*undefined*: the condition is then not true (and the evaluator counts it), as CEL's error
values would.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import celpy
from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedToken

MAX_SOURCE = 2000  # characters, as RuleSpec allows: the parser's time grows with it
MAX_NODES = 256
MAX_NESTING = 32  # brackets
MAX_TREE_DEPTH = 400  # parse-tree levels (32 brackets take about 330): bounds the recursion
MAX_STRING = 1000
INT_MIN, INT_MAX = -(2**63), 2**63 - 1

Value = float | int | bool | str
Env = Mapping[str, Value]
Fn = Callable[[Env], Value]


class ExprError(ValueError):
    """A refused expression; ``column`` is 1-based within the expression (0: unknown)."""

    def __init__(self, message: str, column: int = 0) -> None:
        super().__init__(message)
        self.column = column


class Undefined(Exception):
    """Evaluation reached an error value (missing metric, wrong type, division by zero)."""


@dataclass(frozen=True, slots=True)
class CompiledExpr:
    source: str
    names: frozenset[str]  # the metrics it reads
    fn: Fn

    def __call__(self, env: Env) -> bool | None:
        """True or false; None when undefined or not a boolean."""
        try:
            result = self.fn(env)
        except Undefined:
            return None
        return result if isinstance(result, bool) else None


_PARSER = celpy.Environment()


def compile_expr(source: str) -> CompiledExpr:
    if len(source) > MAX_SOURCE:
        raise ExprError(f"longer than {MAX_SOURCE} characters", MAX_SOURCE + 1)
    depth = 0
    for i, ch in enumerate(source):
        depth += 1 if ch in "([" else -1 if ch in ")]" else 0
        if depth > MAX_NESTING:
            raise ExprError(f"nested more than {MAX_NESTING} levels deep", i + 1)
    try:
        tree = _PARSER.compile(source)
    except celpy.celparser.CELParseError as exc:
        column = getattr(exc, "column", 0) or 0
        raise ExprError(_syntax(exc, source, column), column) from None
    builder = _Builder()
    fn = builder.build(tree)
    return CompiledExpr(source, frozenset(builder.names), fn)


def _syntax(exc: Exception, source: str, column: int) -> str:
    """What the parser tripped on, in words (its own text only repeats the source)."""
    cause = exc.__context__  # celpy raises its error while handling lark's
    if isinstance(cause, UnexpectedToken) and cause.token.type == "$END":
        return "syntax error: the expression ends too early"
    if isinstance(cause, UnexpectedToken):
        found = str(cause.token)
    elif isinstance(cause, UnexpectedCharacters):
        found = cause.char
    else:
        return "syntax error"
    hint = " (there is no ** operator)" if source[column - 2 : column] == "**" else ""
    return f"syntax error: unexpected {found!r}{hint}"


def _column(node: Tree[Any] | Token) -> int:
    if isinstance(node, Token):
        return node.column or 0
    meta = getattr(node, "meta", None)
    return getattr(meta, "column", 0) if meta is not None and not meta.empty else 0


def _number(v: Value) -> float | int:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise Undefined
    return v


def _int_checked(v: int | float) -> int | float:
    if isinstance(v, int) and not INT_MIN <= v <= INT_MAX:
        raise Undefined
    return v


def _arith(op: str) -> Callable[[Value, Value], Value]:
    def add(a: Value, b: Value) -> Value:
        if isinstance(a, str) and isinstance(b, str):
            if len(a) + len(b) > MAX_STRING * 4:
                raise Undefined
            return a + b
        return _int_checked(_number(a) + _number(b))

    def sub(a: Value, b: Value) -> Value:
        return _int_checked(_number(a) - _number(b))

    def mul(a: Value, b: Value) -> Value:
        return _int_checked(_number(a) * _number(b))

    def div(a: Value, b: Value) -> Value:
        x, y = _number(a), _number(b)
        if isinstance(x, int) and isinstance(y, int):
            if y == 0:
                raise Undefined
            q = abs(x) // abs(y)
            return _int_checked(q if (x >= 0) == (y >= 0) else -q)  # CEL truncates
        if y == 0:
            raise Undefined
        return x / y

    def mod(a: Value, b: Value) -> Value:
        x, y = _number(a), _number(b)
        if not (isinstance(x, int) and isinstance(y, int)) or y == 0:
            raise Undefined
        r = abs(x) % abs(y)  # in integers: math.fmod's floats lose digits above 2**53
        return r if x >= 0 else -r  # CEL truncates: the remainder takes the dividend's sign

    return {"add": add, "sub": sub, "mul": mul, "div": div, "mod": mod}[op]


def _compare(op: str) -> Callable[[Value, Value], bool]:
    def ordered(a: Value, b: Value) -> tuple[Any, Any]:
        if isinstance(a, str) and isinstance(b, str):
            return a, b
        if isinstance(a, bool) and isinstance(b, bool):
            return a, b
        return _number(a), _number(b)

    def eq(a: Value, b: Value) -> bool:
        if isinstance(a, bool) != isinstance(b, bool) or isinstance(a, str) != isinstance(b, str):
            raise Undefined
        return a == b

    table: dict[str, Callable[[Value, Value], bool]] = {
        "lt": lambda a, b: (lambda x, y: x < y)(*ordered(a, b)),
        "le": lambda a, b: (lambda x, y: x <= y)(*ordered(a, b)),
        "gt": lambda a, b: (lambda x, y: x > y)(*ordered(a, b)),
        "ge": lambda a, b: (lambda x, y: x >= y)(*ordered(a, b)),
        "eq": eq,
        "ne": lambda a, b: not eq(a, b),
    }
    return table[op]


def _bool(v: Value) -> bool:
    if not isinstance(v, bool):
        raise Undefined
    return v


_FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "abs": (1, 1),
    "double": (1, 1),
    "int": (1, 1),
    "min": (1, 16),
    "max": (1, 16),
}


def _call(name: str, args: list[Value]) -> Value:
    if name == "abs":
        return abs(_number(args[0]))
    if name == "double":
        a = args[0]
        if isinstance(a, str):
            try:
                return float(a)
            except ValueError:
                raise Undefined from None
        return float(_number(a))
    if name == "int":
        a = args[0]
        if isinstance(a, str):
            try:
                return _int_checked(int(a))
            except ValueError:
                raise Undefined from None
        x = _number(a)
        if isinstance(x, float) and not math.isfinite(x):
            raise Undefined
        return _int_checked(int(x))
    numbers = [_number(a) for a in args]
    return min(numbers) if name == "min" else max(numbers)


class _Builder:
    def __init__(self) -> None:
        self.names: set[str] = set()
        self.nodes = 0
        self.depth = 0

    def build(self, node: Tree[Any] | Token) -> Fn:
        if isinstance(node, Token):
            raise ExprError(f"unexpected {node!s}", _column(node))
        kids = node.children
        if not (len(kids) == 1 and isinstance(kids[0], Tree)):  # the grammar's pass-throughs
            self._term(node)  # (expr > or > and > ... > primary) are not terms
        if self.depth >= MAX_TREE_DEPTH:  # a chain of unary operators nests without parens
            raise ExprError(f"nested more than {MAX_TREE_DEPTH} levels deep", _column(node))
        self.depth += 1
        try:
            return self._node(node)
        finally:
            self.depth -= 1

    def _term(self, node: Tree[Any]) -> None:
        """Count an operator, call or operand: the closures evaluation runs."""
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ExprError(f"longer than {MAX_NODES} terms", _column(node))

    def _node(self, node: Tree[Any]) -> Fn:
        data = str(node.data)
        kids = node.children
        method = getattr(self, f"_{data}", None)
        if method is not None:
            fn: Fn = method(node)
            return fn
        if len(kids) == 1 and isinstance(kids[0], Tree):
            return self.build(kids[0])
        raise ExprError(
            f"{data.replace('_', ' ')} is not allowed in a rule expression", _column(node)
        )

    def _expr(self, node: Tree[Any]) -> Fn:
        kids = node.children
        if len(kids) == 1:
            return self.build(kids[0])
        test, yes, no = (self.build(k) for k in kids)
        return lambda env: yes(env) if _bool(test(env)) else no(env)

    def _conditionalor(self, node: Tree[Any]) -> Fn:
        kids = node.children
        if len(kids) == 1:
            return self.build(kids[0])
        left, right = self.build(kids[0]), self.build(kids[1])

        def either(env: Env) -> Value:
            try:  # CEL's || is commutative over errors: true wins
                a: bool | None = _bool(left(env))
            except Undefined:
                a = None
            if a is True:
                return True
            b = _bool(right(env))
            if a is None and not b:
                raise Undefined
            return b

        return either

    def _conditionaland(self, node: Tree[Any]) -> Fn:
        kids = node.children
        if len(kids) == 1:
            return self.build(kids[0])
        left, right = self.build(kids[0]), self.build(kids[1])

        def both(env: Env) -> Value:
            try:  # ... and false wins
                a: bool | None = _bool(left(env))
            except Undefined:
                a = None
            if a is False:
                return False
            b = _bool(right(env))
            if a is None and b:
                raise Undefined
            return b

        return both

    def _binary(
        self, node: Tree[Any], prefix: str, make: Callable[[str], Callable[[Value, Value], Value]]
    ) -> Fn:
        kids = node.children
        if len(kids) == 1:
            return self.build(kids[0])
        op_node, right_node = kids
        assert isinstance(op_node, Tree)
        op = str(op_node.data).removeprefix(prefix)
        if op == "in":
            return self._in(op_node, right_node)
        left, right = self.build(op_node.children[0]), self.build(right_node)
        apply = make(op)
        return lambda env: apply(left(env), right(env))

    def _relation(self, node: Tree[Any]) -> Fn:
        return self._binary(node, "relation_", _compare)

    def _addition(self, node: Tree[Any]) -> Fn:
        return self._binary(node, "addition_", _arith)

    def _multiplication(self, node: Tree[Any]) -> Fn:
        return self._binary(node, "multiplication_", _arith)

    def _in(self, op_node: Tree[Any], right_node: Tree[Any] | Token) -> Fn:
        left = self.build(op_node.children[0])
        items = self._list_items(right_node)
        if items is None:
            raise ExprError(
                "'in' takes a list literal, e.g. state in ['run', 'idle']", _column(op_node)
            )
        eqs = [(item, _compare("eq")) for item in items]

        def member(env: Env) -> Value:
            value = left(env)
            found = False
            for item, eq in eqs:
                try:
                    found = found or eq(value, item(env))
                except Undefined:
                    continue
            return found

        return member

    def _list_items(self, node: Tree[Any] | Token) -> list[Fn] | None:
        while isinstance(node, Tree) and len(node.children) == 1 and node.data != "list_lit":
            node = node.children[0]
        if not isinstance(node, Tree) or node.data != "list_lit":
            return None
        if not node.children:
            return []
        exprlist = node.children[0]
        assert isinstance(exprlist, Tree)
        return [self.build(k) for k in exprlist.children]

    def _unary(self, node: Tree[Any]) -> Fn:
        kids = node.children
        if len(kids) == 1:
            return self.build(kids[0])
        op, operand = kids
        assert isinstance(op, Tree)
        inner = self.build(operand)
        if op.data == "unary_not":
            return lambda env: not _bool(inner(env))
        return lambda env: _int_checked(-_number(inner(env)))

    def _primary(self, node: Tree[Any]) -> Fn:
        (kid,) = node.children
        if isinstance(kid, Tree) and kid.data in ("ident", "literal", "paren_expr", "ident_arg"):
            if kid.data != "paren_expr":
                self._term(kid)
            fn: Fn = getattr(self, f"_{kid.data}")(kid)
            return fn
        data = kid.data if isinstance(kid, Tree) else kid
        raise ExprError(
            f"{str(data).replace('_', ' ')} is not allowed in a rule expression", _column(kid)
        )

    def _member(self, node: Tree[Any]) -> Fn:
        kids = node.children
        if len(kids) == 1 and isinstance(kids[0], Tree) and kids[0].data == "primary":
            return self.build(kids[0])
        raise ExprError(
            "field selection and indexing are not allowed: name the metric itself", _column(node)
        )

    def _paren_expr(self, node: Tree[Any]) -> Fn:
        return self.build(node.children[0])

    def _ident(self, node: Tree[Any]) -> Fn:
        (token,) = node.children
        name = str(token)
        if name in ("true", "false", "null"):
            raise ExprError(f"{name} is a literal", _column(token))
        self.names.add(name)

        def read(env: Env) -> Value:
            value = env.get(name)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                raise Undefined
            return value

        return read

    def _ident_arg(self, node: Tree[Any]) -> Fn:
        name_token = node.children[0]
        name = str(name_token)
        if name not in _FUNCTIONS:
            allowed = ", ".join(sorted(_FUNCTIONS))
            raise ExprError(
                f"function {name}() is not allowed (only {allowed})", _column(name_token)
            )
        args: list[Fn] = []
        if len(node.children) > 1:
            exprlist = node.children[1]
            assert isinstance(exprlist, Tree)
            args = [self.build(k) for k in exprlist.children]
        low, high = _FUNCTIONS[name]
        if not low <= len(args) <= (high or len(args)):
            raise ExprError(
                f"{name}() takes {low}..{high} arguments, got {len(args)}", _column(name_token)
            )
        return lambda env: _call(name, [a(env) for a in args])

    def _literal(self, node: Tree[Any]) -> Fn:
        (child,) = node.children
        token = cast(Token, child)
        text = str(token)
        value: Value
        if token.type in ("INT_LIT",):
            value = int(text, 0) if text.lower().startswith(("0x", "-0x")) else int(text)
            if not INT_MIN <= value <= INT_MAX:
                raise ExprError("integer literal out of 64-bit range", _column(token))
        elif token.type == "UINT_LIT":
            value = int(text.rstrip("uU"), 0)
            if not 0 <= value <= 2 * INT_MAX + 1:
                raise ExprError("unsigned literal out of 64-bit range", _column(token))
        elif token.type == "FLOAT_LIT":
            value = float(text)
        elif token.type == "BOOL_LIT":
            value = text == "true"
        elif token.type in ("STRING_LIT", "MLSTRING_LIT"):
            if len(text) > MAX_STRING + 6:  # quotes and prefix: refused before decoding
                raise ExprError(
                    f"string literal longer than {MAX_STRING} characters", _column(token)
                )
            value = _string(text)
            if len(value) > MAX_STRING:
                raise ExprError(
                    f"string literal longer than {MAX_STRING} characters", _column(token)
                )
        else:
            raise ExprError(f"{token.type.lower()} literals are not allowed", _column(token))
        return lambda env: value


def _string(text: str) -> str:
    """A CEL string literal's value (quotes, raw prefix and the common escapes)."""
    raw = text[:1] in "rR"
    body = text[1:] if raw else text
    quote = body[:3] if body[:3] in ('"""', "'''") else body[:1]
    inner = body[len(quote) : -len(quote)]
    if raw:
        return inner
    return (
        inner.encode("latin-1", "backslashreplace").decode("unicode_escape")
        if "\\" in inner
        else inner
    )
