"""Genealogy: backward and forward traces with their proof paths, aggregation and
disaggregation, quantities, recall with holders, cycles bounded, depth limits."""

from __future__ import annotations

from typing import Any

import pytest

from helan.core.errors import ValidationFailed
from helan.trace import genealogy
from helan.trace.epcis.document import read_document
from helan.trace.identifiers import key
from helan.trace.sources import LocalSource
from helan.trace.store import TraceStore

from .conftest import aggregate, doc, observe, transform, transform_qty


def _load(store: TraceStore, *events: dict[str, Any]) -> LocalSource:
    parsed = read_document(
        doc(*events), tenant_prefix=None, prefix_owner=lambda p: None, tenant="t"
    )
    store.capture("t", parsed)
    return LocalSource(store, "t")


def _keys(trace: genealogy.Trace) -> set[str]:
    return set(trace.nodes) - {trace.start}


def test_backward_through_two_transformations_with_quantities(store: TraceStore) -> None:
    src = _load(
        store,
        transform_qty(1, [("88.1.1/milk-A", 120.0), ("88.1.1/milk-B", 80.0)], ["88.1.1/cheese-1"]),
        transform(2, ["88.1.1/cheese-1", "88.1.1/salt-7"], ["88.1.1/pack-9"]),
        transform(3, ["88.1.1/unrelated"], ["88.1.1/other"]),
    )
    t = genealogy.walk(key("88.1.1/pack-9"), "backward", lambda k: src)
    assert _keys(t) == {
        key(x) for x in ["88.1.1/cheese-1", "88.1.1/salt-7", "88.1.1/milk-A", "88.1.1/milk-B"]
    }
    path = t.path(key("88.1.1/milk-A"))
    assert [s.relation for s in path] == ["input of", "input of"]
    assert path[-1].quantity == 120.0
    assert path[-1].uom == "KGM"
    assert path[0].src == key("88.1.1/pack-9")


def test_forward_follows_aggregation_and_notes_disaggregation(store: TraceStore) -> None:
    src = _load(
        store,
        aggregate(1, "88.1.1/case-1", ["88.1.1/item-1", "88.1.1/item-2"]),
        aggregate(2, "88.1.1/pallet-1", ["88.1.1/case-1"]),
        aggregate(3, "88.1.1/case-1", ["88.1.1/item-2"], action="DELETE"),
    )
    fwd = genealogy.walk(key("88.1.1/item-1"), "forward", lambda k: src)
    assert _keys(fwd) == {key("88.1.1/case-1"), key("88.1.1/pallet-1")}
    back = genealogy.walk(key("88.1.1/case-1"), "backward", lambda k: src)
    removed = {n.key: n.via.removed_by for n in back.nodes.values() if n.via}
    assert removed[key("88.1.1/item-1")] is None
    assert removed[key("88.1.1/item-2")] == "urn:uuid:00000000-0000-4000-8000-000000000003"


def test_recall_names_finished_goods_holders_and_paths(store: TraceStore) -> None:
    src = _load(
        store,
        transform(1, ["88.1.1/herb-lot-L", "88.1.1/herb-lot-M"], ["88.1.1/granules-1"]),
        transform(2, ["88.1.1/granules-1"], ["88.1.1/box-1", "88.1.1/box-2"]),
        transform(3, ["88.1.1/herb-lot-M"], ["88.1.1/box-3"]),
        aggregate(4, "88.1.1/pallet-1", ["88.1.1/box-1"]),
        observe(
            5,
            ["88.1.1/pallet-1"],
            bizStep="shipping",
            destinationList=[
                {"type": "owning_party", "destination": "urn:epc:id:pgln:0614141.00002"}
            ],
        ),
    )
    r = genealogy.recall(key("88.1.1/herb-lot-L"), lambda k: src)
    goods = {g["key"]: g for g in r["finishedGoods"]}
    assert set(goods) == {key("88.1.1/box-1"), key("88.1.1/box-2")}  # not box-3: lot M only
    box1 = goods[key("88.1.1/box-1")]
    assert [s["relation"] for s in box1["path"]] == ["output of", "output of"]
    assert box1["containers"] == ["88.1.1/pallet-1"]
    assert box1["holder"]["bizStep"] == "shipping"
    assert box1["holder"]["destinations"][0]["id"] == "urn:epc:id:pgln:0614141.00002"
    assert goods[key("88.1.1/box-2")]["holder"]["bizStep"] == "commissioning"


def test_cycles_are_reported_and_not_followed(store: TraceStore) -> None:
    src = _load(
        store,
        aggregate(1, "88.1.1/a", ["88.1.1/b"]),
        aggregate(2, "88.1.1/b", ["88.1.1/a"]),
        transform(3, ["88.1.1/x"], ["88.1.1/x"]),
    )
    t = genealogy.walk(key("88.1.1/a"), "backward", lambda k: src)
    assert _keys(t) == {key("88.1.1/b")}
    assert t.cycles
    assert t.cycles[0]["at"] == key("88.1.1/a")
    self_loop = genealogy.walk(key("88.1.1/x"), "backward", lambda k: src)
    assert not _keys(self_loop)
    assert self_loop.cycles


def test_depth_limit_truncates_and_says_so(store: TraceStore) -> None:
    chain = [transform(i, [f"88.1.1/s{i + 1}"], [f"88.1.1/s{i}"]) for i in range(6)]
    src = _load(store, *chain)
    t = genealogy.walk(key("88.1.1/s0"), "backward", lambda k: src, max_depth=3)
    assert len(_keys(t)) == 3
    assert t.truncated
    full = genealogy.walk(key("88.1.1/s0"), "backward", lambda k: src, max_depth=10)
    assert len(_keys(full)) == 6
    assert not full.truncated
    with pytest.raises(ValidationFailed):
        genealogy.walk(key("88.1.1/s0"), "backward", lambda k: src, max_depth=0)


def test_declared_errors_are_not_followed(store: TraceStore) -> None:
    wrong = transform(1, ["88.1.1/lot-X"], ["88.1.1/prod"])
    src = _load(store, wrong, transform(2, ["88.1.1/lot-Y"], ["88.1.1/prod"]))
    decl = {
        **wrong,
        "errorDeclaration": {"declarationTime": "2026-01-02T00:00:00Z", "reason": "incorrect_data"},
    }
    _load(store, decl)
    t = genealogy.walk(key("88.1.1/prod"), "backward", lambda k: src)
    assert _keys(t) == {key("88.1.1/lot-Y")}
