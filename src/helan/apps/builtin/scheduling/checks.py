"""Checks of definitions against the tenant's other definitions. Each failure is a 422 with
the position (``loc``) of the offending field, so a form can mark it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from helan.apps.builtin.scheduling.definitions import (
    Item,
    Product,
    ResourceGroup,
    Routing,
    Selection,
)
from helan.core.errors import ValidationFailed

Loc = tuple[str | int, ...]


def _fail(loc: Loc, message: str, kind: str, *, code: str = "invalid_definition") -> None:
    where = ".".join(str(x) for x in loc)
    raise ValidationFailed(
        f"{where}: {message}",
        code=code,
        details=[{"loc": ["body", *loc], "message": message, "type": kind}],
    )


def bom_cycle(items: Mapping[str, Item], first: str | None = None) -> list[str] | None:
    """A cycle in the component graph as a path (its first item repeated at the end), or
    None; the search starts at ``first`` so a cycle through it is named from it."""
    colour: dict[str, int] = {}  # 1 on the path, 2 finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = 1
        path.append(node)
        item = items.get(node)
        for line in item.bom if item else []:
            c = colour.get(line.item, 0)
            if c == 1:
                return [*path[path.index(line.item) :], line.item]
            if c == 0:
                found = visit(line.item)
                if found:
                    return found
        path.pop()
        colour[node] = 2
        return None

    for start in ([first] if first else []) + sorted(items):
        if colour.get(start, 0) == 0:
            found = visit(start)
            if found:
                return found
    return None


def check_item(item: Item, others: Mapping[str, Item]) -> None:
    """Refuse a BOM whose components are unknown or that closes a cycle (named)."""
    known = {**others, item.id: item}
    for i, line in enumerate(item.bom):
        if line.item not in known:
            _fail(("bom", i, "item"), f"unknown item {line.item!r}", "unknown_item")
    cycle = bom_cycle(known, item.id)
    if cycle:
        at = next(i for i, line in enumerate(item.bom) if line.item in cycle)
        _fail(("bom", at, "item"), "cyclic BOM: " + " -> ".join(cycle), "bom_cycle")


def check_group(group: ResourceGroup, machines: set[str]) -> None:
    for i, m in enumerate(group.machines):
        if m not in machines:
            _fail(("machines", i), f"unknown machine {m!r}", "unknown_machine")


def check_routing(
    routing: Routing,
    items: Mapping[str, Item],
    groups: Mapping[str, ResourceGroup],
    machines: set[str],
) -> None:
    """Every step names existing machines or an existing group, exactly one of the two."""
    if routing.item not in items:
        _fail(("item",), f"unknown item {routing.item!r}", "unknown_item")
    seen: set[str] = set()
    for i, step in enumerate(routing.steps):
        if step.id in seen:
            _fail(("steps", i, "id"), f"step id {step.id!r} repeats", "duplicate")
        seen.add(step.id)
        if bool(step.machines) == (step.group is not None):
            _fail(("steps", i), "give either machines or group", "machines_or_group")
        if step.group is not None and step.group not in groups:
            _fail(("steps", i, "group"), f"unknown resource group {step.group!r}", "unknown_group")
        for k, m in enumerate(step.machines):
            if m not in machines:
                _fail(("steps", i, "machines", k), f"unknown machine {m!r}", "unknown_machine")


def step_machines(step: Any, groups: Mapping[str, ResourceGroup]) -> list[str]:
    return list(step.machines) if step.machines else list(groups[step.group].machines)


def check_product(
    product: Product, items: Mapping[str, Item], routings: Mapping[str, Routing]
) -> None:
    if product.item not in items:
        _fail(("item",), f"unknown item {product.item!r}", "unknown_item")
    if product.routing not in routings:
        _fail(("routing",), f"unknown routing {product.routing!r}", "unknown_routing")
    choices: dict[str, set[str]] = {}
    for i, opt in enumerate(product.options):
        if opt.id in choices:
            _fail(("options", i, "id"), f"option {opt.id!r} repeats", "duplicate")
        ids = [c.id for c in opt.choices]
        if len(set(ids)) != len(ids):
            _fail(("options", i, "choices"), "choice ids repeat", "duplicate")
        choices[opt.id] = set(ids)
        for k, c in enumerate(opt.choices):
            if c.routing is not None and c.routing not in routings:
                _fail(
                    ("options", i, "choices", k, "routing"),
                    f"unknown routing {c.routing!r}",
                    "unknown_routing",
                )
            for n, line in enumerate(c.bom):
                if line.item not in items:
                    _fail(
                        ("options", i, "choices", k, "bom", n, "item"),
                        f"unknown item {line.item!r}",
                        "unknown_item",
                    )
    for r, rule in enumerate(product.rules):
        for part in ("when", "excludes", "requires"):
            for n, sel in enumerate(getattr(rule, part)):
                if sel.option not in choices or sel.choice not in choices[sel.option]:
                    _fail(
                        ("rules", r, part, n),
                        f"no choice {sel.choice!r} of option {sel.option!r}",
                        "unknown_choice",
                    )
    # A product no selection can satisfy is a definition error, not a shop surprise.
    if product.options and not any_valid(product):
        _fail(("rules",), "the rules exclude every combination of choices", "unsatisfiable")


def rule_violation(product: Product, selection: Mapping[str, str]) -> str | None:
    """Why ``selection`` (option -> choice) breaks a rule, or None."""

    def holds(s: Selection) -> bool:
        return selection.get(s.option) == s.choice

    for rule in product.rules:
        if all(holds(s) for s in rule.when):
            names = ", ".join(f"{s.option}={s.choice}" for s in rule.when)
            for s in rule.excludes:
                if holds(s):
                    why = rule.message or f"{names} excludes {s.option}={s.choice}"
                    return f"rule {rule.id!r}: {why}"
            for s in rule.requires:
                if not holds(s):
                    why = rule.message or f"{names} requires {s.option}={s.choice}"
                    return f"rule {rule.id!r}: {why}"
    return None


MAX_COMBINATIONS = 100_000


def any_valid(product: Product) -> bool:
    """Whether some full selection satisfies the rules (search with pruning on complete
    prefixes; beyond MAX_COMBINATIONS tried the product is accepted, the shop still checks)."""
    opts: Sequence[Any] = product.options
    tried = 0

    def walk(k: int, chosen: dict[str, str]) -> bool:
        nonlocal tried
        tried += 1
        if tried > MAX_COMBINATIONS:
            return True
        if k == len(opts):
            return rule_violation(product, chosen) is None
        for c in opts[k].choices:
            chosen[opts[k].id] = c.id
            if walk(k + 1, chosen):
                return True
        del chosen[opts[k].id]
        return False

    return walk(0, {})
