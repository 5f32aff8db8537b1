"""Definitions checked against each other: BOM cycles named, unknown parts and machines at
their position, option rules, configuration price, materials and lots."""

from __future__ import annotations

import pytest

from helan.apps.builtin.scheduling import checks
from helan.apps.builtin.scheduling.configurator import configure
from helan.apps.builtin.scheduling.definitions import (
    BomLine,
    Choice,
    Item,
    Option,
    Product,
    ResourceGroup,
    Routing,
    RoutingStep,
    Rule,
    Selection,
)
from helan.apps.builtin.scheduling.orders import lots, production_jobs
from helan.core.errors import ValidationFailed


def item(iid: str, *parts: tuple[str, float]) -> Item:
    return Item(id=iid, name=iid, bom=[BomLine(item=p, quantity=q) for p, q in parts])


ITEMS = {
    "bolt": item("bolt"),
    "plate": item("plate", ("bolt", 4)),
    "frame": item("frame", ("plate", 2), ("bolt", 2)),
}
ROUTING = Routing(
    id="r",
    item="frame",
    steps=[RoutingStep(id="cut", machines=["m1", "m2"], setup_min=10, process_min=1.5)],
)


def product(**kw: object) -> Product:
    base: dict[str, object] = {
        "id": "p",
        "name": "P",
        "item": "frame",
        "routing": "r",
        "base_price": 10,
        "options": [
            Option(
                id="size",
                name="Size",
                choices=[Choice(id="s", name="S"), Choice(id="l", name="L", price=5)],
            ),
            Option(
                id="coat",
                name="Coat",
                choices=[
                    Choice(id="none", name="None"),
                    Choice(id="zinc", name="Zinc", price=2, bom=[BomLine(item="bolt", quantity=1)]),
                ],
            ),
        ],
        "rules": [
            Rule(
                id="big-zinc",
                when=[Selection(option="size", choice="l")],
                requires=[Selection(option="coat", choice="zinc")],
            )
        ],
    }
    return Product.model_validate(base | kw)


def test_cycle_is_named_from_the_saved_item() -> None:
    with pytest.raises(ValidationFailed) as exc:
        checks.check_item(
            item("bolt", ("frame", 1)), {k: v for k, v in ITEMS.items() if k != "bolt"}
        )
    assert "bolt -> frame -> plate -> bolt" in exc.value.message
    assert exc.value.details == [
        {
            "loc": ["body", "bom", 0, "item"],
            "message": exc.value.details[0]["message"],
            "type": "bom_cycle",
        }
    ]


def test_self_reference_and_unknown_part() -> None:
    with pytest.raises(ValidationFailed, match="x -> x"):
        checks.check_item(item("x", ("x", 1)), {})
    with pytest.raises(ValidationFailed, match="unknown item 'nut'"):
        checks.check_item(item("y", ("bolt", 1), ("nut", 1)), ITEMS)


def test_routing_machines_and_groups() -> None:
    groups = {"g": ResourceGroup(id="g", machines=["m1"])}
    checks.check_routing(ROUTING, ITEMS, groups, {"m1", "m2"})
    with pytest.raises(ValidationFailed) as exc:
        checks.check_routing(ROUTING, ITEMS, groups, {"m1"})
    assert exc.value.details is not None
    assert exc.value.details[0]["loc"] == ["body", "steps", 0, "machines", 1]
    both = Routing(
        id="r", item="frame", steps=[RoutingStep(id="a", machines=["m1"], group="g", process_min=1)]
    )
    with pytest.raises(ValidationFailed, match="either machines or group"):
        checks.check_routing(both, ITEMS, groups, {"m1"})
    ghost = Routing(id="r", item="frame", steps=[RoutingStep(id="a", group="h", process_min=1)])
    with pytest.raises(ValidationFailed, match="unknown resource group 'h'"):
        checks.check_routing(ghost, ITEMS, groups, {"m1"})


def test_configuration_price_materials_and_rules() -> None:
    p = product()
    checks.check_product(p, ITEMS, {"r": ROUTING})
    conf = configure(p, {"size": "l", "coat": "zinc"}, ITEMS, {"r": ROUTING})
    assert conf.unit_price == 17.0
    # frame = 2 plates (4 bolts each) + 2 bolts; zinc adds a bolt: 11 bolts per unit
    assert conf.materials == {"bolt": 11.0}
    with pytest.raises(ValidationFailed, match="impossible combination: rule 'big-zinc'"):
        configure(p, {"size": "l", "coat": "none"}, ITEMS, {"r": ROUTING})
    with pytest.raises(ValidationFailed, match="not a choice of 'size'"):
        configure(p, {"size": "xl", "coat": "none"}, ITEMS, {"r": ROUTING})
    with pytest.raises(ValidationFailed, match="no option 'colour'"):
        configure(p, {"size": "s", "coat": "none", "colour": "red"}, ITEMS, {"r": ROUTING})


def test_unsatisfiable_rules_and_unknown_choices_refused() -> None:
    never = product(
        rules=[
            Rule(
                id="n",
                when=[Selection(option="size", choice=c)],
                excludes=[Selection(option="size", choice=c)],
            )
            for c in ("s", "l")
        ]
    )
    with pytest.raises(ValidationFailed, match="every combination"):
        checks.check_product(never, ITEMS, {"r": ROUTING})
    typo = product(rules=[Rule(id="t", when=[Selection(option="size", choice="xxl")])])
    with pytest.raises(ValidationFailed, match="no choice 'xxl'"):
        checks.check_product(typo, ITEMS, {"r": ROUTING})


def test_lots_and_production_jobs() -> None:
    assert lots(10, 4) == [4, 4, 2]
    assert lots(3, 10) == [3]
    assert len(lots(100_000, 1)) == 500  # capped: lots grow instead
    assert sum(lots(100_000, 1)) == 100_000
    jobs = production_jobs(
        "o1", 10, 4, ROUTING, {}, release=5, due=100, weight=1, available={"m1", "m2"}
    )
    assert [j.id for j in jobs] == ["o1/1", "o1/2", "o1/3"]
    assert dict(jobs[0].operations[0].options) == {"m1": 16, "m2": 16}  # 10 + ceil(1.5 * 4)
    assert dict(jobs[2].operations[0].options) == {"m1": 13, "m2": 13}
    only = production_jobs("o1", 4, 4, ROUTING, {}, release=0, due=None, weight=1, available={"m2"})
    assert list(only[0].operations[0].options) == ["m2"]
    with pytest.raises(ValidationFailed, match="none of its machines"):
        production_jobs("o1", 4, 4, ROUTING, {}, release=0, due=None, weight=1, available=set())
