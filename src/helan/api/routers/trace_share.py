"""Traceability outside any tenant's sign-in: the share API another platform's traces call
(``X-Helan-Trace-Token``: a token a tenant issued with a sharing agreement) and the public
trace of a product identifier (only what its enterprise shares with the public)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query

from helan.api.routers.epcis_deps import Hub
from helan.core.errors import NotFound, Unauthenticated
from helan.trace import identifiers

router = APIRouter(prefix="/api/v1", tags=["epcis"])
MAX_KEYS = 500


@router.get("/trace-share/naming", responses={401: {}, 404: {}})
def share_naming(
    hub: Hub,
    keys: Annotated[str, Query(min_length=1, max_length=200_000)],
    token: Annotated[str | None, Header(alias="X-Helan-Trace-Token", max_length=200)] = None,
) -> dict[str, Any]:
    """For each identifier key, the events naming it that the token's agreement shares,
    cut to its fields; ``withheld`` lists what was held back."""
    if not token:
        raise Unauthenticated("X-Helan-Trace-Token required")
    wanted = [k for k in keys.split(",") if k][:MAX_KEYS]
    return hub.share_naming(token, wanted)


@router.get("/trace/public", responses={404: {}})
def public_trace(
    hub: Hub,
    identifier: Annotated[str, Query(min_length=3, max_length=500)],
    depth: Annotated[int, Query(ge=1, le=20)] = 10,
) -> dict[str, Any]:
    """The backward trace of a product identifier (a Handle id under a tenant's prefix) as
    its enterprise shares it with the public: no sign-in; nothing unshared."""
    prefix = identifiers.handle_prefix(identifier)
    owner = hub.prefix_owners().get(prefix) if prefix else None
    if owner is None:
        raise NotFound(f"no enterprise on this platform holds {identifier!r}")
    backward = hub.trace(None, identifier, "backward", depth, public_owner=owner)
    forward = hub.trace(None, identifier, "forward", depth, public_owner=owner)
    own = hub.events_public(owner, identifier)
    return {"identifier": identifier, "events": own, "backward": backward, "forward": forward}
