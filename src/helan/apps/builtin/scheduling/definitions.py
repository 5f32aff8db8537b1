"""Manufacturing definitions as data: items with bills of materials, routings, resource
groups, and configurable products. The shapes are pydantic models (FastAPI answers a wrong
shape with 422 naming the field); what needs the tenant's other definitions (a cycle in the
BOMs, a routing naming a machine that does not exist, option rules) is checked in
:mod:`helan.apps.builtin.scheduling.checks`, also as 422 with the position.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$")]
Minutes = Annotated[int, Field(ge=0, le=100_000)]
Money = Annotated[float, Field(ge=-1_000_000, le=1_000_000)]
Text = Annotated[str, Field(min_length=1, max_length=200)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BomLine(Strict):
    item: Name
    quantity: Annotated[float, Field(gt=0, le=1_000_000)]


class Item(Strict):
    """A part or product; ``bom`` its components (empty: bought or raw)."""

    id: Name
    name: Text
    bom: Annotated[list[BomLine], Field(max_length=200)] = []


class RoutingStep(Strict):
    """One operation: on a resource group or on listed alternative machines (not both).

    ``setup_min`` is charged once per lot, ``process_min`` per unit, ``transfer_min`` between
    this step and the next."""

    id: Name
    machines: Annotated[list[Name], Field(max_length=50)] = []
    group: Name | None = None
    setup_min: Minutes = 0
    process_min: Annotated[float, Field(ge=0, le=10_000)]
    transfer_min: Minutes = 0


class Routing(Strict):
    id: Name
    item: Name
    steps: Annotated[list[RoutingStep], Field(min_length=1, max_length=100)]


class ResourceGroup(Strict):
    """Machines that can stand in for each other (the tenant's devices or named resources)."""

    id: Name
    machines: Annotated[list[Name], Field(min_length=1, max_length=200)]


class Choice(Strict):
    """A value of an option: its price delta, and optional BOM lines and routing it brings."""

    id: Name
    name: Text
    price: Money = 0.0
    bom: Annotated[list[BomLine], Field(max_length=50)] = []
    routing: Name | None = None  # replaces the product's routing when chosen


class Option(Strict):
    id: Name
    name: Text
    choices: Annotated[list[Choice], Field(min_length=1, max_length=100)]


class Selection(Strict):
    option: Name
    choice: Name


class Rule(Strict):
    """``when`` all hold, ``excludes`` none may be chosen and ``requires`` all must be."""

    id: Name
    when: Annotated[list[Selection], Field(min_length=1, max_length=10)]
    excludes: Annotated[list[Selection], Field(max_length=20)] = []
    requires: Annotated[list[Selection], Field(max_length=20)] = []
    message: Annotated[str, Field(max_length=200)] = ""


class Product(Strict):
    """A configurable product: the item made, base price and routing, options and rules."""

    id: Name
    name: Text
    name_zh: Annotated[str, Field(max_length=200)] = ""
    item: Name
    routing: Name
    base_price: Money
    lot_size: Annotated[int, Field(ge=1, le=100_000)] = 10
    options: Annotated[list[Option], Field(max_length=30)] = []
    rules: Annotated[list[Rule], Field(max_length=200)] = []
