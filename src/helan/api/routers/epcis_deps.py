"""What the EPCIS routers share: the trace hub of this app (created on first use; the store
file is in the platform's data dir) and subscription delivery after a capture."""

from __future__ import annotations

import logging
import threading
from typing import Annotated

import httpx
from fastapi import Depends, Request

from helan.core.errors import HelanError
from helan.rules.notify.allowlist import check_url
from helan.services.trace import TraceHub, query_document, store_path
from helan.trace.store import TraceStore

log = logging.getLogger(__name__)
_lock = threading.Lock()


def get_hub(request: Request) -> TraceHub:
    state = request.app.state
    hub: TraceHub | None = getattr(state, "trace", None)
    if hub is None:
        with _lock:
            hub = getattr(state, "trace", None)
            if hub is None:
                platform = state.platform
                store = TraceStore(store_path(platform.settings.data_dir))
                hub = TraceHub(platform.meta, store)
                state.trace = hub
    return hub


Hub = Annotated[TraceHub, Depends(get_hub)]


def allowed_hosts(request: Request) -> list[str]:
    return list(request.app.state.platform.settings.notify_allowed_hosts)


def deliver_subscriptions(request: Request, hub: TraceHub, tenant: str) -> None:
    """POST each subscription's new matches to its webhook; the checkpoint moves only after
    a 2xx, so a failed delivery is retried with the next capture (at least once)."""
    allowed = allowed_hosts(request)
    with httpx.Client(timeout=5.0) as client:
        for sub in hub.subscriptions(tenant):
            page = hub.pending(sub)
            if not page.events:
                continue
            try:
                check_url(sub.dest, allowed, field="dest")
                r = client.post(
                    sub.dest,
                    content=query_document(page, query_name=sub.query_name),
                    headers={"Content-Type": "application/ld+json", "GS1-Subscription": sub.id},
                )
                r.raise_for_status()
            except (httpx.HTTPError, HelanError) as exc:
                log.warning("trace subscription %s/%s: %s", tenant, sub.id, exc)
                hub.delivered(sub, 0, 0, str(exc))
                continue
            hub.delivered(sub, page.events[-1].seq, len(page.events), None)
