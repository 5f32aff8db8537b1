"""Helpers for the traceability tests: GS1's examples, small documents, a store."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import pytest

from helan.trace.store import TraceStore

CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]


def example(name: str) -> dict[str, Any]:
    path = resources.files("helan.trace.epcis").joinpath(f"gs1/examples/{name}.json")
    loaded: dict[str, Any] = orjson.loads(path.read_bytes())
    return loaded


def examples() -> list[str]:
    folder = resources.files("helan.trace.epcis").joinpath("gs1/examples")
    return sorted(
        p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json")
    )


def doc(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-01-01T00:00:00Z",
        "epcisBody": {"eventList": list(events)},
    }


def _base(kind: str, n: int, **fields: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "eventID": f"urn:uuid:00000000-0000-4000-8000-{n:012d}",
        "eventTime": f"2026-01-01T{n // 60 % 24:02d}:{n % 60:02d}:00+08:00",
        "eventTimeZoneOffset": "+08:00",
        **fields,
    }


def transform(n: int, inputs: list[str], outputs: list[str], **kw: Any) -> dict[str, Any]:
    return _base(
        "TransformationEvent",
        n,
        inputEPCList=inputs,
        outputEPCList=outputs,
        bizStep="commissioning",
        **kw,
    )


def transform_qty(n: int, inputs: list[tuple[str, float]], outputs: list[str]) -> dict[str, Any]:
    return _base(
        "TransformationEvent",
        n,
        inputQuantityList=[{"epcClass": c, "quantity": q, "uom": "KGM"} for c, q in inputs],
        outputEPCList=outputs,
        bizStep="commissioning",
    )


def aggregate(n: int, parent: str, children: list[str], action: str = "ADD") -> dict[str, Any]:
    return _base(
        "AggregationEvent", n, parentID=parent, childEPCs=children, action=action, bizStep="packing"
    )


def observe(n: int, epcs: list[str], **kw: Any) -> dict[str, Any]:
    return _base("ObjectEvent", n, epcList=epcs, action="OBSERVE", **kw)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TraceStore]:
    s = TraceStore(tmp_path / "trace" / "events.sqlite3")
    yield s
    s.close()
