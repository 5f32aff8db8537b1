"""The event store and the standard query parameters: GS1's examples come back byte for
byte, capture is all or nothing and idempotent, error declarations mark the stored event,
and each parameter filters."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from helan.core.errors import ValidationFailed
from helan.trace import query
from helan.trace.epcis.document import read_document
from helan.trace.store import Stored, TraceStore

from .conftest import aggregate, doc, example, examples, observe, transform


def _capture(store: TraceStore, d: dict[str, Any], tenant: str = "acme"):
    events = read_document(d, tenant_prefix=None, prefix_owner=lambda p: None, tenant=tenant)
    return store.capture(tenant, events)


def _find(store: TraceStore, tenant: str = "acme", **params: str) -> list[Stored]:
    sql, args = query.where(tenant, query.parse(params))
    return store.select(sql, args)


def test_gs1_examples_round_trip_unchanged(store: TraceStore) -> None:
    for name in examples():
        _capture(store, example(name))
    for name in examples():
        for raw in example(name)["epcisBody"]["eventList"]:
            epcs = raw.get("epcList") or raw.get("childEPCs") or raw.get("outputEPCList")
            found = _find(store, MATCH_anyEPC=epcs[0], eventType=raw["type"])
            assert raw in [orjson.loads(s.body) for s in found]


def test_capture_is_idempotent_by_event_id(store: TraceStore) -> None:
    d = doc(observe(1, ["88.1.1/a"]), observe(2, ["88.1.1/b"]))
    assert _capture(store, d).captured == 2
    again = _capture(store, d)
    assert (again.captured, again.duplicates) == (0, 2)
    assert store.count("acme") == 2
    assert _capture(store, d, tenant="bolt").captured == 2  # ids are per tenant


def test_a_bad_event_keeps_the_whole_document_out(store: TraceStore) -> None:
    bad = observe(2, ["88.1.1/b"], bizStep="nonsense")
    with pytest.raises(ValidationFailed):
        _capture(store, doc(observe(1, ["88.1.1/a"]), bad))
    assert store.count() == 0


def test_error_declaration_marks_the_stored_event(store: TraceStore) -> None:
    first = transform(1, ["88.1.1/in"], ["88.1.1/out"])
    _capture(store, doc(first))
    declared = {
        **first,
        "errorDeclaration": {"declarationTime": "2026-01-02T00:00:00Z", "reason": "did_not_occur"},
    }
    result = _capture(store, doc(declared))
    assert (result.captured, result.corrected) == (0, 1)
    (stored,) = _find(store, EQ_eventID=first["eventID"])
    assert stored.declared_error
    assert orjson.loads(stored.body)["errorDeclaration"]["reason"] == "did_not_occur"


def test_standard_parameters_filter(store: TraceStore) -> None:
    _capture(
        store,
        doc(
            observe(1, ["88.1.1/a"], bizStep="shipping", disposition="in_transit"),
            observe(
                2, ["88.1.1/a"], bizStep="receiving", bizLocation={"id": "urn:epc:id:sgln:1.2.3"}
            ),
            aggregate(3, "88.1.1/pallet", ["88.1.1/a", "88.1.1/b"]),
            transform(4, ["88.1.1/b"], ["88.1.1/c"]),
        ),
    )

    def n(**p: str) -> int:
        return len(_find(store, **p))

    assert n(EQ_bizStep="shipping") == 1
    assert n(EQ_bizStep="urn:epcglobal:cbv:bizstep:receiving,shipping") == 2
    assert n(EQ_disposition="in_transit") == 1
    assert n(EQ_bizLocation="urn:epc:id:sgln:1.2.3") == 1
    assert n(eventType="AggregationEvent,TransformationEvent") == 2
    assert n(MATCH_epc="88.1.1/a") == 3  # two ObjectEvents and the aggregation's child
    assert n(MATCH_parentID="88.1.1/pallet") == 1
    assert n(MATCH_inputEPC="88.1.1/b") == 1
    assert n(MATCH_outputEPC="88.1.1/c") == 1
    assert n(MATCH_anyEPC="88.1.1/b") == 2
    assert n(GE_eventTime="2026-01-01T00:02:00+08:00") == 3
    assert (
        n(GE_eventTime="2026-01-01T00:02:00+08:00", LT_eventTime="2026-01-01T00:04:00+08:00") == 2
    )
    assert n(MATCH_epc="88.1.1/a", EQ_bizStep="packing") == 1


def test_gs1_keys_match_in_any_spelling(store: TraceStore) -> None:
    _capture(store, example("object_event_9.6.1"))
    dl = "https://id.gs1.org/01/10614141073464/21/2018"
    assert len(_find(store, MATCH_epc=dl)) == 2
    assert len(_find(store, MATCH_epc="urn:epc:id:sgtin:0614141.107346.2018")) == 2


def test_pages_follow_capture_order_and_tokens_bind_to_their_query(store: TraceStore) -> None:
    _capture(store, doc(*[observe(i, ["88.1.1/a"], bizStep="shipping") for i in range(7)]))
    q = query.parse({"EQ_bizStep": "shipping", "perPage": "3"})
    seen: list[int] = []
    token = None
    while True:
        params = {"EQ_bizStep": "shipping", "perPage": "3"}
        if token:
            params["nextPageToken"] = token
        q = query.parse(params)
        rows = store.select(*query.where("acme", q))
        page = rows[: q.per_page]
        seen.extend(r.seq for r in page)
        if len(rows) <= q.per_page:
            break
        token = query.token(q, page[-1].seq)
    assert seen == sorted(seen)
    assert len(seen) == 7
    with pytest.raises(ValidationFailed, match="other parameters"):
        query.parse({"EQ_bizStep": "receiving", "nextPageToken": token or ""})


@pytest.mark.parametrize(
    "params",
    [
        {"EQ_bizstep": "shipping"},
        {"GE_eventTime": "2026-01-01T00:00:00"},
        {"perPage": "0"},
        {"eventType": "TeleportEvent"},
        {"EQ_bizStep": "shiping"},
        {"nextPageToken": "!!"},
    ],
)
def test_bad_parameters_are_refused(params: dict[str, str]) -> None:
    with pytest.raises(ValidationFailed):
        query.parse(params)
