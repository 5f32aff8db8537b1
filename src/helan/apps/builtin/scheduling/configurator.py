"""Configure a product: a selection (option -> choice) checked against the options and rules,
priced, with the BOM exploded and the routing the choices lead to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from helan.apps.builtin.scheduling.checks import rule_violation
from helan.apps.builtin.scheduling.definitions import Item, Product, Routing
from helan.core.errors import ValidationFailed

MAX_BOM_DEPTH = 30


@dataclass(frozen=True, slots=True, kw_only=True)
class Configuration:
    product: str
    selection: dict[str, str]
    unit_price: float
    routing: str
    materials: dict[str, float]  # leaf item -> quantity per unit of product


def _fail(loc: list[str | int], message: str, kind: str) -> ValidationFailed:
    return ValidationFailed(
        message,
        code="invalid_configuration",
        details=[{"loc": ["body", *loc], "message": message, "type": kind}],
    )


def explode(
    items: Mapping[str, Item], lines: list[tuple[str, float]], depth: int = 0
) -> dict[str, float]:
    """Leaf materials per unit: quantities multiplied down the BOM (saved BOMs are acyclic)."""
    if depth > MAX_BOM_DEPTH:
        raise ValidationFailed(f"BOM deeper than {MAX_BOM_DEPTH} levels")
    out: dict[str, float] = {}
    for item_id, qty in lines:
        item = items.get(item_id)
        if item is None or not item.bom:
            out[item_id] = out.get(item_id, 0.0) + qty
            continue
        sub = explode(items, [(b.item, b.quantity * qty) for b in item.bom], depth + 1)
        for k, v in sub.items():
            out[k] = out.get(k, 0.0) + v
    return out


def configure(
    product: Product,
    selection: Mapping[str, str],
    items: Mapping[str, Item],
    routings: Mapping[str, Routing],
) -> Configuration:
    options = {o.id: o for o in product.options}
    for key in selection:
        if key not in options:
            raise _fail(["selection", key], f"product has no option {key!r}", "unknown_option")
    price = product.base_price
    routing = product.routing
    lines: list[tuple[str, float]] = [(product.item, 1.0)]
    for opt in product.options:
        chosen = selection.get(opt.id)
        if chosen is None:
            raise _fail(["selection", opt.id], f"choose a value for {opt.id!r}", "missing")
        choice = next((c for c in opt.choices if c.id == chosen), None)
        if choice is None:
            known = ", ".join(c.id for c in opt.choices)
            raise _fail(
                ["selection", opt.id],
                f"{chosen!r} is not a choice of {opt.id!r} (one of {known})",
                "unknown_choice",
            )
        price += choice.price
        lines.extend((b.item, b.quantity) for b in choice.bom)
        if choice.routing is not None:
            routing = choice.routing
    why = rule_violation(product, selection)
    if why is not None:
        raise _fail(["selection"], f"impossible combination: {why}", "incompatible")
    if routing not in routings:
        raise ValidationFailed(f"routing {routing!r} of product {product.id!r} no longer exists")
    return Configuration(
        product=product.id,
        selection=dict(selection),
        unit_price=round(price, 2),
        routing=routing,
        materials=explode(items, lines),
    )
