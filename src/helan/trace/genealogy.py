"""Genealogy over captured events: backward trace (everything that went into X), forward
trace (everywhere X went), recall (the finished goods and their current holders that
contain input lot L), each node with the chain of events that proves how it was reached.

Edges: a TransformationEvent links each input to each output (with the input's quantity);
an Aggregation- or AssociationEvent with action ADD or OBSERVE links each child to its
parent (a later DELETE of the pair, a disaggregation, is reported on the edge as
``removed_by``: the child was in the container, and left it). Events declared erroneous are
not followed. The walk is breadth first, level by level (one index lookup per identifier),
visits an identifier once (a cycle, e.g. a pallet recorded inside its own case, is reported
in ``cycles`` and not followed again), and stops at ``max_depth`` levels or ``max_nodes``
identifiers, saying so in ``truncated``.

Events come from :class:`Source` objects: the tenant's own store, another tenant's through
a sharing agreement, another platform's trace service; ``sources`` picks the one that holds
an identifier (by its Handle prefix), so a trace crosses enterprises where the identifier
does, and whatever a source withheld is listed in ``withheld``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from helan.core.errors import ValidationFailed

Direction = Literal["backward", "forward"]
MAX_DEPTH = 50
DEFAULT_DEPTH = 20
MAX_NODES = 200_000


@dataclass(frozen=True, slots=True)
class View:
    """An event as genealogy sees it (what its source let through)."""

    event_id: str
    event_type: str
    event_time_ms: int
    action: str | None
    biz_step: str | None
    disposition: str | None
    biz_location: str | None
    refs: Sequence[Sequence[Any]]  # [role, key, quantity, uom, is_class, epc]
    owner: str  # who holds it: "tenant:<id>" or a platform's URL
    body: dict[str, Any] | None = None  # the (shared part of the) event, for holders


class Source(Protocol):
    name: str

    def naming(self, keys: Sequence[str]) -> dict[str, list[View]]:
        """For each key, the events naming it (declared errors left out)."""
        ...

    def withheld(self) -> list[dict[str, Any]]:
        """What this source did not let through, said once per reason."""
        ...


@dataclass(frozen=True, slots=True)
class Step:
    event_id: str
    event_type: str
    biz_step: str | None
    time: str
    relation: str  # "input of", "output of", "child of", "parent of"
    src: str
    dst: str
    quantity: float | None
    uom: str | None
    owner: str
    removed_by: str | None = None

    def out(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "eventID": self.event_id,
            "eventType": self.event_type,
            "bizStep": self.biz_step,
            "eventTime": self.time,
            "relation": self.relation,
            "from": self.src,
            "to": self.dst,
            "owner": self.owner,
        }
        if self.quantity is not None:
            data["quantity"] = self.quantity
            data["uom"] = self.uom
        if self.removed_by is not None:
            data["removedBy"] = self.removed_by
        return data


@dataclass(slots=True)
class Node:
    key: str
    epc: str
    depth: int
    via: Step | None
    parent: str | None


@dataclass(slots=True)
class Trace:
    start: str
    direction: Direction
    nodes: dict[str, Node] = field(default_factory=dict)
    cycles: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False
    sources: set[str] = field(default_factory=set)

    def path(self, key: str) -> list[Step]:
        steps: list[Step] = []
        node = self.nodes.get(key)
        while node is not None and node.via is not None:
            steps.append(node.via)
            node = self.nodes.get(node.parent) if node.parent else None
        return steps[::-1]

    def out(self) -> dict[str, Any]:
        items = [
            {"epc": n.epc, "key": k, "depth": n.depth, "path": [s.out() for s in self.path(k)]}
            for k, n in self.nodes.items()
            if k != self.start
        ]
        return {
            "start": self.start,
            "direction": self.direction,
            "nodes": items,
            "cycles": self.cycles,
            "truncated": self.truncated,
        }


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def _edges(view: View, key: str, direction: Direction) -> Iterable[tuple[str, str, Sequence[Any]]]:
    """(neighbour key, relation, the neighbour's ref) of ``view`` from ``key``."""
    if view.event_type == "TransformationEvent":
        mine = {r[0] for r in view.refs if r[1] == key}
        if direction == "backward" and "output" in mine:
            for r in view.refs:
                if r[0] == "input":
                    yield r[1], "input of", r
        if direction == "forward" and "input" in mine:
            for r in view.refs:
                if r[0] == "output":
                    yield r[1], "output of", r
    elif view.event_type in ("AggregationEvent", "AssociationEvent") and view.action in (
        "ADD",
        "OBSERVE",
    ):
        mine = {r[0] for r in view.refs if r[1] == key}
        if direction == "backward" and "parent" in mine:
            for r in view.refs:
                if r[0] == "child":
                    yield r[1], "child of", r
        if direction == "forward" and "child" in mine:
            for r in view.refs:
                if r[0] == "parent":
                    yield r[1], "parent of", r


def _removals(views: Iterable[View]) -> dict[tuple[str, str], tuple[int, str]]:
    """(parent, child or "*") -> the latest disaggregation (time, event id)."""
    out: dict[tuple[str, str], tuple[int, str]] = {}
    for v in views:
        if v.event_type not in ("AggregationEvent", "AssociationEvent") or v.action != "DELETE":
            continue
        parents = [r[1] for r in v.refs if r[0] == "parent"]
        children = [r[1] for r in v.refs if r[0] == "child"] or ["*"]
        for p in parents:
            for c in children:
                if (p, c) not in out or out[(p, c)][0] < v.event_time_ms:
                    out[(p, c)] = (v.event_time_ms, v.event_id)
    return out


SourceFor = Callable[[str], Source]


def walk(
    start: str,
    direction: Direction,
    source_for: SourceFor,
    *,
    max_depth: int = DEFAULT_DEPTH,
    max_nodes: int = MAX_NODES,
) -> Trace:
    if not 1 <= max_depth <= MAX_DEPTH:
        raise ValidationFailed(f"depth must be 1..{MAX_DEPTH}")
    trace = Trace(start=start, direction=direction)
    trace.nodes[start] = Node(start, start, 0, None, None)
    frontier = [start]
    depth = 0
    while frontier and depth < max_depth:
        depth += 1
        by_source: dict[str, tuple[Source, list[str]]] = {}
        for key in frontier:
            src = source_for(key)
            by_source.setdefault(src.name, (src, []))[1].append(key)
        found: dict[str, list[View]] = {}
        for src, keys in by_source.values():
            trace.sources.add(src.name)
            found.update(src.naming(keys))
        nxt: list[str] = []
        for key in frontier:
            views = found.get(key, [])
            removed = _removals(views) if direction == "backward" else {}
            for view in views:
                for other, relation, ref in _edges(view, key, direction):
                    if other == key:
                        trace.cycles.append({"at": key, "eventID": view.event_id})
                        continue
                    gone = None
                    if relation == "child of":
                        r = removed.get((key, other)) or removed.get((key, "*"))
                        if r is not None and r[0] >= view.event_time_ms:
                            gone = r[1]
                    step = Step(
                        event_id=view.event_id,
                        event_type=view.event_type,
                        biz_step=view.biz_step,
                        time=_iso(view.event_time_ms),
                        relation=relation,
                        src=key,
                        dst=other,
                        quantity=ref[2],
                        uom=ref[3],
                        owner=view.owner,
                        removed_by=gone,
                    )
                    if other in trace.nodes:
                        if _is_ancestor(trace, other, key):
                            trace.cycles.append(
                                {"at": other, "from": key, "eventID": view.event_id}
                            )
                        continue
                    if len(trace.nodes) >= max_nodes:
                        trace.truncated = True
                        return trace
                    trace.nodes[other] = Node(other, str(ref[5]), depth, step, key)
                    nxt.append(other)
        frontier = nxt
    if frontier and depth >= max_depth:
        trace.truncated = any(_has_more(source_for, k, direction) for k in frontier[:50])
    return trace


def _has_more(source_for: SourceFor, key: str, direction: Direction) -> bool:
    views = source_for(key).naming([key]).get(key, [])
    return any(True for v in views for _ in _edges(v, key, direction))


def _is_ancestor(trace: Trace, candidate: str, key: str) -> bool:
    node: Node | None = trace.nodes.get(key)
    while node is not None:
        if node.key == candidate:
            return True
        node = trace.nodes.get(node.parent) if node.parent else None
    return False


def _holder(views: Sequence[View]) -> dict[str, Any] | None:
    """Where the latest event naming an object (or its container) put it."""
    latest = max(views, key=lambda v: v.event_time_ms, default=None)
    if latest is None:
        return None
    body = latest.body or {}
    parties = [
        {"type": d.get("type"), "id": d.get("destination")}
        for d in body.get("destinationList") or ()
        if isinstance(d, dict)
    ]
    return {
        "eventID": latest.event_id,
        "eventTime": _iso(latest.event_time_ms),
        "bizStep": latest.biz_step,
        "disposition": latest.disposition,
        "bizLocation": latest.biz_location,
        "destinations": parties,
        "owner": latest.owner,
    }


def recall(lot: str, source_for: SourceFor, *, max_depth: int = DEFAULT_DEPTH) -> dict[str, Any]:
    """Finished goods made from ``lot`` (forward nodes no transformation takes further)
    with the path from the lot and their current holder: the latest event naming the good
    or a container it was put in after it was made."""
    trace = walk(lot, "forward", source_for, max_depth=max_depth)
    made: set[str] = set()
    containers: dict[str, list[str]] = {}
    for key, node in trace.nodes.items():
        if node.via is not None and node.via.relation == "output of":
            made.add(key)
        if node.via is not None and node.via.relation == "parent of" and node.parent:
            containers.setdefault(node.parent, []).append(key)
    transformed_further = {
        n.parent for n in trace.nodes.values() if n.via and n.via.relation == "output of"
    }
    goods = sorted(made - transformed_further)
    keys = list(trace.nodes)
    views: dict[str, list[View]] = {}
    by_source: dict[str, tuple[Source, list[str]]] = {}
    for key in keys:
        src = source_for(key)
        by_source.setdefault(src.name, (src, []))[1].append(key)
    for src, ks in by_source.values():
        views.update(src.naming(ks))
    items = []
    for good in goods:
        chain = [good]
        frontier = [good]
        while frontier:  # the containers it went into, transitively
            nxt = [c for f in frontier for c in containers.get(f, []) if c not in chain]
            chain.extend(nxt)
            frontier = nxt
        seen = [v for k in chain for v in views.get(k, [])]
        items.append(
            {
                "epc": trace.nodes[good].epc,
                "key": good,
                "path": [s.out() for s in trace.path(good)],
                "containers": [trace.nodes[c].epc for c in chain[1:]],
                "holder": _holder(seen),
            }
        )
    return {
        "lot": lot,
        "finishedGoods": items,
        "reached": len(trace.nodes) - 1,
        "cycles": trace.cycles,
        "truncated": trace.truncated,
    }
