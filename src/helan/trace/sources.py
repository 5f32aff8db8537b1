"""Where genealogy reads events: :class:`LocalSource` a tenant's own store, whole;
:class:`SharedSource` another tenant's through an agreement; :class:`MergedSource` several at
once; ``remote.RemoteSource`` another platform's trace service."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import orjson

from helan.trace.genealogy import Source, View
from helan.trace.sharing import Terms, Withheld, share
from helan.trace.store import Stored, TraceStore


def view(s: Stored, owner: str, body: dict[str, Any] | None = None) -> View:
    return View(
        event_id=s.event_id,
        event_type=s.event_type,
        event_time_ms=s.event_time_ms,
        action=s.action,
        biz_step=s.biz_step,
        disposition=s.disposition,
        biz_location=s.biz_location,
        refs=s.refs,
        owner=owner,
        body=body if body is not None else orjson.loads(s.body),
    )


def naming_stored(store: TraceStore, tenant: str, keys: Sequence[str]) -> dict[str, list[Stored]]:
    """For each key, the tenant's events naming it, declared errors left out."""
    hits = store.seqs_naming(tenant, keys)
    rows = store.by_seq(sorted({seq for found in hits.values() for seq, _ in found}))
    return {
        k: [rows[seq] for seq in dict.fromkeys(s for s, _ in found) if not rows[seq].declared_error]
        for k, found in hits.items()
    }


class LocalSource:
    def __init__(self, store: TraceStore, tenant: str) -> None:
        self.store = store
        self.tenant = tenant
        self.name = f"tenant:{tenant}"

    def naming(self, keys: Sequence[str]) -> dict[str, list[View]]:
        found = naming_stored(self.store, self.tenant, keys)
        return {k: [view(s, self.name) for s in rows] for k, rows in found.items()}

    def withheld(self) -> list[dict[str, Any]]:
        return []


class SharedSource:
    """Another tenant's events as an agreement lets them through."""

    def __init__(self, store: TraceStore, owner: str, terms: Terms | None) -> None:
        self.store = store
        self.owner = owner
        self.terms = terms
        self.name = f"tenant:{owner}"
        self.held = Withheld.empty()
        self._notes: list[dict[str, Any]] = []

    def naming(self, keys: Sequence[str]) -> dict[str, list[View]]:
        if self.terms is None:
            if not self._notes:
                self._notes.append(
                    {"source": self.name, "reason": "no sharing agreement with this enterprise"}
                )
            return {k: [] for k in keys}
        found = naming_stored(self.store, self.owner, keys)
        out: dict[str, list[View]] = {}
        for k, rows in found.items():
            views = []
            for s in rows:
                shared = share(
                    [(s.event_id, s.event_type, orjson.loads(s.body))], self.terms, self.held
                )
                if not shared:
                    continue
                kept = shared[0][1]
                v = view(s, self.name, kept)
                if "disposition" not in self.terms.fields:
                    v = replace(v, disposition=None)
                if "bizLocation" not in self.terms.fields:
                    v = replace(v, biz_location=None)
                views.append(v)
            out[k] = views
        return out

    def withheld(self) -> list[dict[str, Any]]:
        return [*self._notes, *({"source": self.name, **w} for w in self.held.out())]


class MergedSource:
    """Several sources asked for the same keys (an identifier of another enterprise: its own
    events there, and this tenant's events naming it here)."""

    def __init__(self, sources: Sequence[Source]) -> None:
        self.sources = list(sources)
        self.name = "+".join(s.name for s in self.sources)

    def naming(self, keys: Sequence[str]) -> dict[str, list[View]]:
        out: dict[str, list[View]] = {k: [] for k in keys}
        for src in self.sources:
            for k, views in src.naming(keys).items():
                out.setdefault(k, []).extend(views)
        return out

    def withheld(self) -> list[dict[str, Any]]:
        return [w for s in self.sources for w in s.withheld()]
