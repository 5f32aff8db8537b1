"""EPCIS 2.0 capture and query per tenant, and genealogy.

``POST .../epcis/capture``: one EPCIS document (JSON-LD ``application/ld+json`` or
``application/json``; XML ``application/xml``), all or nothing, idempotent by ``eventID``;
at most 64 MiB (413 past it, before any of it is parsed). A rejected document answers 422
with one ``{"loc": ["body", "epcisBody", "eventList", i, ...], "message", "type"}`` per
problem. ``GET .../epcis/events``: the standard query parameters (see
:mod:`helan.trace.query`), an ``EPCISQueryDocument`` with each event exactly as captured;
the next page's token in the ``Link`` header (``rel="next"``) and ``GS1-Next-Page-Token``.
``GET .../epcis/trace`` and ``.../epcis/recall``: genealogy with the path that proves each
answer, following identifiers into other enterprises as far as they share."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response

from helan.api.deps import Reader, Writer
from helan.api.routers.epcis_deps import Hub, deliver_subscriptions
from helan.services.trace import Page, query_document

router = APIRouter(prefix="/api/v1/tenants/{tenant}/epcis", tags=["epcis"])
LD_JSON = "application/ld+json"
Param = Annotated[str | None, Query(max_length=4000)]
Epc = Annotated[
    str,
    Query(min_length=1, max_length=500, description="Identifier (EPC, Handle, GS1 Digital Link)"),
]
Depth = Annotated[int, Query(ge=1, le=50, description="Levels to follow")]


def _document(request: Request, page: Page, *, query_name: str = "SimpleEventQuery") -> Response:
    headers = {}
    if page.next_token is not None:
        params = dict(request.query_params)
        params["nextPageToken"] = page.next_token
        url = request.url.replace(query=urlencode(params))
        headers["Link"] = f'<{url}>; rel="next"'
        headers["GS1-Next-Page-Token"] = page.next_token
    body = query_document(page, query_name=query_name)
    return Response(body, media_type=LD_JSON, headers=headers)


@router.post("/capture", status_code=201, responses={413: {}, 422: {}})
async def capture(
    tenant: str, request: Request, _: Writer, hub: Hub, background: BackgroundTasks
) -> dict[str, Any]:
    """Capture an EPCIS document. Answers how many events were new, how many were already
    captured (same ``eventID``) and how many stored events an error declaration corrected."""
    from starlette.concurrency import run_in_threadpool

    body = await request.body()
    result = await run_in_threadpool(hub.capture, tenant, body, request.headers.get("content-type"))
    if result.captured:
        background.add_task(deliver_subscriptions, request, hub, tenant)
    return {
        "captured": result.captured,
        "duplicates": result.duplicates,
        "corrected": result.corrected,
    }


@router.get("/events", response_class=Response, responses={200: {"content": {LD_JSON: {}}}})
def events(
    tenant: str,
    request: Request,
    _: Reader,
    hub: Hub,
    event_type: Annotated[str | None, Query(alias="eventType", max_length=200)] = None,
    eq_biz_step: Annotated[str | None, Query(alias="EQ_bizStep", max_length=4000)] = None,
    eq_disposition: Annotated[str | None, Query(alias="EQ_disposition", max_length=4000)] = None,
    eq_biz_location: Annotated[str | None, Query(alias="EQ_bizLocation", max_length=4000)] = None,
    match_epc: Annotated[str | None, Query(alias="MATCH_epc", max_length=4000)] = None,
    match_any_epc: Annotated[str | None, Query(alias="MATCH_anyEPC", max_length=4000)] = None,
    ge_event_time: Annotated[str | None, Query(alias="GE_eventTime", max_length=40)] = None,
    lt_event_time: Annotated[str | None, Query(alias="LT_eventTime", max_length=40)] = None,
    per_page: Annotated[int | None, Query(alias="perPage", ge=1, le=1000)] = None,
    next_page_token: Annotated[str | None, Query(alias="nextPageToken", max_length=200)] = None,
) -> Response:
    """The tenant's events matching every parameter given (the named ones and the other
    standard ones: ``EQ_action``, ``EQ_readPoint``, ``EQ_eventID``, ``GE_/LT_recordTime``,
    ``MATCH_parentID``, ``MATCH_inputEPC``, ``MATCH_outputEPC``, ``MATCH_epcClass``,
    ``MATCH_anyEPCClass``), in capture order. An unknown parameter is refused (422). One
    event by its id: ``EQ_eventID`` (event ids are URIs with slashes, which a path segment
    cannot carry)."""
    return _document(request, hub.events(tenant, dict(request.query_params)))


@router.get("/trace")
def trace(
    tenant: str,
    _: Reader,
    hub: Hub,
    epc: Epc,
    direction: Literal["backward", "forward"] = "backward",
    depth: Depth = 20,
) -> dict[str, Any]:
    """Backward: everything that went into ``epc``; forward: everywhere it went. Each node
    comes with the events that link it to ``epc``; ``withheld`` says what other
    enterprises did not share."""
    return hub.trace(tenant, epc, direction, depth)


@router.get(
    "/label", response_class=Response, responses={200: {"content": {"application/pdf": {}}}}
)
def label(tenant: str, request: Request, _: Reader, identifier: Epc) -> Response:
    """A printable label (PDF) for a product identifier with the QR code of its public trace
    page (``/api/v1/trace/public?identifier=...``: no sign-in, only what is shared)."""
    from helan.trace.label import label_pdf

    url = (
        str(request.base_url).rstrip("/")
        + "/api/v1/trace/public?"
        + urlencode({"identifier": identifier})
    )
    return Response(label_pdf(identifier, url), media_type="application/pdf")


@router.get("/recall")
def recall(tenant: str, _: Reader, hub: Hub, lot: Epc, depth: Depth = 20) -> dict[str, Any]:
    """The finished goods made from ``lot`` and their current holders, with paths."""
    return hub.recall(tenant, lot, depth)
