"""Reading capture documents: GS1's examples pass; every kind of bad input is refused with
the JSON path of what is wrong, and nothing of the document is kept."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from helan.core.errors import ValidationFailed
from helan.trace.epcis.document import read_document
from helan.trace.epcis.schema import event_validator, fast_valid

from .conftest import doc, example, examples, observe, transform


def _read(d: dict[str, Any], *, prefix: str | None = None, owners: dict[str, str] | None = None):
    owners = owners or {}
    return read_document(d, tenant_prefix=prefix, prefix_owner=owners.get, tenant="acme")


def _errors(d: dict[str, Any], **kw: Any) -> list[dict[str, Any]]:
    with pytest.raises(ValidationFailed) as err:
        _read(d, **kw)
    assert err.value.details
    return err.value.details


@pytest.mark.parametrize("name", examples())
def test_gs1_examples_are_read(name: str) -> None:
    d = example(name)
    events = _read(d)
    assert len(events) == len(d["epcisBody"]["eventList"])
    for e, raw in zip(events, d["epcisBody"]["eventList"], strict=True):
        assert e.event_type == raw["type"]
        assert e.event_id == raw.get("eventID", e.event_id)


def test_transformation_refs_carry_roles_and_quantities() -> None:
    (e,) = _read(example("transformation_event_9.6.4"))
    roles = [(r.role, r.is_class) for r in e.refs]
    assert roles.count(("input", False)) == 2
    assert roles.count(("input", True)) == 3
    assert roles.count(("output", False)) == 4
    kg = next(r for r in e.refs if r.epc == "urn:epc:class:lgtin:4012345.011111.4444")
    assert (kg.quantity, kg.uom, kg.key) == (10.0, "KGM", "gs1:01/04012345111118/10/4444")


def test_schema_errors_name_the_event_and_field() -> None:
    bad = observe(1, ["urn:epc:id:sgtin:0614141.107346.1"])
    bad["action"] = "LOOK"
    good = observe(2, ["urn:epc:id:sgtin:0614141.107346.2"])
    details = _errors(doc(good, bad))
    assert details[0]["loc"] == ["body", "epcisBody", "eventList", 1, "action"]
    assert details[0]["type"] == "schema.enum"


def test_event_time_without_offset_is_refused() -> None:
    e = observe(1, ["urn:epc:id:sgtin:0614141.107346.1"])
    e["eventTime"] = "2026-01-01T08:00:00"
    (d,) = _errors(doc(e))
    assert d["loc"][-1] == "eventTime"
    assert "time zone offset" in d["message"]


def test_unknown_cbv_values_are_refused_but_user_vocabularies_pass() -> None:
    e = observe(
        1, ["urn:epc:id:sgtin:0614141.107346.1"], bizStep="shiping", disposition="in_transit"
    )
    (d,) = _errors(doc(e))
    assert (d["loc"][-1], d["type"]) == ("bizStep", "unknown_cbv")
    e["bizStep"] = "urn:epcglobal:cbv:bizstep:teleporting"
    assert _errors(doc(e))[0]["type"] == "unknown_cbv"
    e["bizStep"] = "https://helan.example/vocab/fermenting"
    assert len(_read(doc(e))) == 1
    e["bizStep"] = "https://ref.gs1.org/cbv/BizStep-shipping"
    assert _read(doc(e))[0].biz_step == "shipping"


def test_unknown_event_type_and_duplicate_ids() -> None:
    e = observe(1, ["urn:epc:id:sgtin:0614141.107346.1"])
    other = dict(e, type="TeleportEvent")
    details = _errors(doc(e, copy.deepcopy(e), other))
    types = {d["type"] for d in details}
    assert types == {"duplicate_event_id", "unknown_event_type"}


def test_remote_context_is_refused_never_fetched() -> None:
    d = doc(observe(1, ["urn:epc:id:sgtin:0614141.107346.1"]))
    d["@context"] = ["https://attacker.example/ctx.jsonld"]
    (e,) = _errors(d)
    assert e["type"] == "remote_context"
    assert e["loc"] == ["body", "@context", 0]


def test_identifiers_under_another_tenants_prefix_are_not_minted() -> None:
    owners = {"88.1.1": "acme", "88.1.2": "bolt"}
    mine = transform(1, ["88.1.2/lot-9"], ["88.1.1/batch-1"])
    assert len(_read(doc(mine), prefix="88.1.1", owners=owners)) == 1  # inputs may be others'
    theirs = transform(2, ["88.1.1/lot-1"], ["88.1.2/fake"])
    (d,) = _errors(doc(theirs), prefix="88.1.1", owners=owners)
    assert d["type"] == "foreign_prefix"
    assert d["loc"][-2:] == ["outputEPCList", 0]


def test_fast_check_agrees_with_jsonschema() -> None:
    """The compiled schema and jsonschema give the same verdict, valid and broken."""
    cases: list[dict[str, Any]] = []
    for name in examples():
        cases.extend(example(name)["epcisBody"]["eventList"])
    broken = []
    for e in cases:
        for field, value in [
            ("eventTime", "yesterday"),
            ("action", "NOPE"),
            ("eventTimeZoneOffset", "+25:00"),
            ("readPoint", "urn:x"),
            ("epcList", ["not a uri"]),
            ("quantityList", [{"quantity": 1}]),
            ("sensorElementList", [{"sensorMetadata": {}}]),
        ]:
            broken.append({**e, field: value})
        broken.append({k: v for k, v in e.items() if k != "eventTimeZoneOffset"})
    for e in [*cases, *broken]:
        validator = event_validator(e["type"])
        assert validator is not None
        assert fast_valid(e["type"], e) == validator.is_valid(e), e
