"""Where genealogy reads events: :class:`LocalSource` is a tenant's own store, whole;
sharing and remote sources (``sharing.py``, ``remote.py``) wrap others'."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from helan.trace.genealogy import View
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
